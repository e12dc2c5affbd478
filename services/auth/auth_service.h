// AuthService and AccessLogService (proto/throughline/auth/v1/auth.proto)
// over an AuthStore.

#ifndef THROUGHLINE_SERVICES_AUTH_AUTH_SERVICE_H_
#define THROUGHLINE_SERVICES_AUTH_AUTH_SERVICE_H_

#include "services/auth/auth_store.h"
#include "services/auth/gate.h"
#include "throughline/auth/v1/auth.grpc.pb.h"

namespace throughline::services::auth {

class AuthService final : public v1::AuthService::Service {
 public:
  // `store` must outlive the service.
  explicit AuthService(AuthStore* store) : store_(store) {}

  grpc::Status CreateToken(grpc::ServerContext* context,
                           const v1::CreateTokenRequest* request,
                           v1::CreateTokenResponse* response) override;
  grpc::Status ListTokens(grpc::ServerContext* context,
                          const v1::ListTokensRequest* request,
                          v1::ListTokensResponse* response) override;
  grpc::Status RevokeToken(grpc::ServerContext* context,
                           const v1::RevokeTokenRequest* request,
                           v1::RevokeTokenResponse* response) override;
  grpc::Status WhoAmI(grpc::ServerContext* context,
                      const v1::WhoAmIRequest* request,
                      v1::WhoAmIResponse* response) override;

 private:
  AuthStore* const store_;
};

class AccessLogService final : public v1::AccessLogService::Service {
 public:
  explicit AccessLogService(AuthStore* store) : store_(store) {}

  grpc::Status ListAccess(grpc::ServerContext* context,
                          const v1::ListAccessRequest* request,
                          v1::ListAccessResponse* response) override;

 private:
  AuthStore* const store_;
};

// INVALID_ARGUMENT naming the field unless `principal` is complete and
// consistent for its role (e.g. a school leader names at least one school).
absl::Status ValidatePrincipal(const v1::Principal& principal,
                               absl::string_view field);

// Records that `caller` read `subject_staff_id`'s data (empty: the whole
// trust's log) now; `detail` says what.
absl::Status RecordRead(AuthStore* store, const Caller& caller,
                        absl::string_view subject_staff_id,
                        absl::string_view detail);

}  // namespace throughline::services::auth

#endif  // THROUGHLINE_SERVICES_AUTH_AUTH_SERVICE_H_
