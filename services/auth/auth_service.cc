#include "services/auth/auth_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "eventstore/errors.h"
#include "eventstore/format.h"
#include "services/grpc_status.h"
#include "services/timestamps.h"

namespace throughline::services::auth {
namespace {

using eventstore::FieldError;
using eventstore::InvalidField;

constexpr size_t kMaxAccessEntries = 1000;

bool Printable(absl::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

absl::Status ValidateId(absl::string_view value, absl::string_view field) {
  if (value.empty() || value.size() > 128 || !Printable(value)) {
    return InvalidField(field, "must be 1 to 128 printable characters");
  }
  return absl::OkStatus();
}

absl::Status ValidateTrust(absl::string_view value, absl::string_view field) {
  if (absl::Status s = eventstore::ValidateTenant(value); !s.ok()) {
    return InvalidField(field,
                        "must be a valid tenant name (lowercase "
                        "letters, digits and '-')");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidatePrincipal(const v1::Principal& principal,
                               absl::string_view field) {
  const std::string prefix = absl::StrCat(field, ".");
  if (principal.name().empty() || principal.name().size() > 200 ||
      !Printable(principal.name())) {
    return InvalidField(absl::StrCat(prefix, "name"),
                        "must be 1 to 200 printable characters");
  }
  switch (principal.role()) {
    case v1::ROLE_OPERATOR:
      if (!principal.trust().empty()) {
        return InvalidField(absl::StrCat(prefix, "trust"),
                            "an operator has no trust");
      }
      break;
    case v1::ROLE_ADMIN:
    case v1::ROLE_PLATFORM_WRITER:
    case v1::ROLE_TRUST_LEADER:
    case v1::ROLE_SCHOOL_LEADER:
    case v1::ROLE_STAFF_MEMBER:
    case v1::ROLE_AUDITOR:
      if (absl::Status s =
              ValidateTrust(principal.trust(), absl::StrCat(prefix, "trust"));
          !s.ok()) {
        return s;
      }
      break;
    default:
      return InvalidField(absl::StrCat(prefix, "role"),
                          "must be one of the roles that can be issued");
  }
  if (principal.role() == v1::ROLE_SCHOOL_LEADER &&
      principal.school_ids().empty()) {
    return InvalidField(absl::StrCat(prefix, "school_ids"),
                        "a school leader leads at least one school");
  }
  for (int i = 0; i < principal.school_ids_size(); ++i) {
    if (absl::Status s =
            ValidateId(principal.school_ids(i),
                       absl::StrCat(prefix, "school_ids[", i, "]"));
        !s.ok()) {
      return s;
    }
  }
  if (principal.role() == v1::ROLE_STAFF_MEMBER &&
      principal.staff_id().empty()) {
    return InvalidField(absl::StrCat(prefix, "staff_id"),
                        "a staff member's credential names the person");
  }
  if (!principal.staff_id().empty()) {
    if (absl::Status s =
            ValidateId(principal.staff_id(), absl::StrCat(prefix, "staff_id"));
        !s.ok()) {
      return s;
    }
  }
  if (principal.role() == v1::ROLE_PLATFORM_WRITER &&
      principal.silos().empty()) {
    return InvalidField(absl::StrCat(prefix, "silos"),
                        "a platform writer writes at least one silo");
  }
  if (principal.role() != v1::ROLE_PLATFORM_WRITER &&
      !principal.silos().empty()) {
    return InvalidField(absl::StrCat(prefix, "silos"),
                        "only a platform writer has silos");
  }
  for (int i = 0; i < principal.silos_size(); ++i) {
    if (principal.silos(i) <= v1::SILO_UNSPECIFIED ||
        !v1::Silo_IsValid(principal.silos(i))) {
      return InvalidField(absl::StrCat(prefix, "silos[", i, "]"),
                          "unknown silo");
    }
  }
  return absl::OkStatus();
}

absl::Status RecordRead(AuthStore* store, const Caller& caller,
                        absl::string_view subject_staff_id,
                        absl::string_view detail) {
  v1::AccessEntry entry;
  TimeToProto(absl::Now(), entry.mutable_time());
  entry.set_accessor_token_id(caller.token_id);
  *entry.mutable_accessor() = caller.principal;
  entry.set_subject_staff_id(std::string(subject_staff_id));
  entry.set_method(caller.method);
  entry.set_detail(std::string(detail));
  return store->RecordAccess(caller.trust(), entry);
}

grpc::Status AuthService::CreateToken(grpc::ServerContext* context,
                                      const v1::CreateTokenRequest* request,
                                      v1::CreateTokenResponse* response) {
  absl::StatusOr<Caller> caller = Admit(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (request->request_id().empty() || request->request_id().size() > 128 ||
      !Printable(request->request_id())) {
    return ToGrpcStatus(
        InvalidField("request_id", "must be 1 to 128 printable characters"));
  }
  v1::CreateTokenRequest effective = *request;
  const bool is_operator = caller->role() == v1::ROLE_OPERATOR;
  if (!is_operator) {
    // A trust's admin issues credentials of its own trust only.
    if (effective.principal().trust().empty()) {
      effective.mutable_principal()->set_trust(caller->trust());
    }
    if (effective.principal().trust() != caller->trust()) {
      return ToGrpcStatus(OutOfScope("principal.trust"));
    }
    if (effective.principal().role() == v1::ROLE_OPERATOR) {
      return ToGrpcStatus(OutOfScope("principal.role"));
    }
  }
  if (absl::Status s = ValidatePrincipal(effective.principal(), "principal");
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  const absl::Time now = absl::Now();
  if (effective.has_expires_at()) {
    absl::StatusOr<absl::Time> expires =
        TimeFromProto(effective.expires_at(), "expires_at");
    if (!expires.ok()) return ToGrpcStatus(expires.status());
    if (*expires <= now) {
      return ToGrpcStatus(InvalidField("expires_at", "must be in the future"));
    }
  }
  if (!effective.certificate_sha256().empty() &&
      CanonicalFingerprint(effective.certificate_sha256()).empty()) {
    return ToGrpcStatus(InvalidField("certificate_sha256",
                                     "must be 64 hex digits (colons allowed)"));
  }
  absl::StatusOr<IssuedToken> issued =
      store_->Create(effective, is_operator ? "operator" : caller->trust(),
                     caller->token_id, now);
  if (!issued.ok()) return ToGrpcStatus(issued.status());
  *response->mutable_token() = issued->token;
  response->set_secret(issued->secret);
  response->set_already_applied(issued->already_applied);
  return grpc::Status::OK;
}

grpc::Status AuthService::ListTokens(grpc::ServerContext* context,
                                     const v1::ListTokensRequest* request,
                                     v1::ListTokensResponse* response) {
  absl::StatusOr<Caller> caller = Admit(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  absl::optional<std::string> trust;
  if (caller->role() == v1::ROLE_OPERATOR) {
    if (!request->trust().empty()) trust = request->trust();
  } else {
    if (!request->trust().empty() && request->trust() != caller->trust()) {
      return ToGrpcStatus(OutOfScope("trust"));
    }
    trust = caller->trust();
  }
  for (v1::Token& token : store_->List(trust)) {
    *response->add_tokens() = std::move(token);
  }
  return grpc::Status::OK;
}

grpc::Status AuthService::RevokeToken(grpc::ServerContext* context,
                                      const v1::RevokeTokenRequest* request,
                                      v1::RevokeTokenResponse* response) {
  absl::StatusOr<Caller> caller = Admit(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  const absl::Status not_found =
      FieldError(absl::StatusCode::kNotFound, "token_id",
                 absl::StrCat("no token \"", request->token_id(), "\""));
  absl::optional<v1::Token> token = store_->Get(request->token_id());
  // Another trust's token is as unknown to an admin as a missing one.
  if (!token.has_value() || (caller->role() != v1::ROLE_OPERATOR &&
                             token->principal().trust() != caller->trust())) {
    return ToGrpcStatus(not_found);
  }
  absl::StatusOr<IssuedToken> revoked =
      store_->Revoke(request->token_id(), absl::Now());
  if (!revoked.ok()) return ToGrpcStatus(not_found);
  *response->mutable_token() = revoked->token;
  response->set_already_applied(revoked->already_applied);
  return grpc::Status::OK;
}

grpc::Status AuthService::WhoAmI(grpc::ServerContext* context,
                                 const v1::WhoAmIRequest*,
                                 v1::WhoAmIResponse* response) {
  absl::StatusOr<Caller> caller = Admit(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  *response->mutable_principal() = caller->principal;
  response->set_token_id(caller->token_id);
  return grpc::Status::OK;
}

grpc::Status AccessLogService::ListAccess(grpc::ServerContext* context,
                                          const v1::ListAccessRequest* request,
                                          v1::ListAccessResponse* response) {
  absl::StatusOr<Caller> caller = Admit(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  std::string staff_id = request->staff_id();
  if (caller->role() == v1::ROLE_STAFF_MEMBER) {
    if (staff_id.empty()) staff_id = caller->principal.staff_id();
    if (staff_id != caller->principal.staff_id()) {
      return ToGrpcStatus(OutOfScope("staff_id"));
    }
  }
  absl::Time after = absl::UnixEpoch();
  if (request->has_after()) {
    absl::StatusOr<absl::Time> t = TimeFromProto(request->after(), "after");
    if (!t.ok()) return ToGrpcStatus(t.status());
    after = *t;
  }
  const size_t limit =
      request->limit() == 0 || request->limit() > kMaxAccessEntries
          ? kMaxAccessEntries
          : request->limit();
  absl::StatusOr<std::vector<v1::AccessEntry>> entries =
      store_->ListAccess(caller->trust(), staff_id, after, limit);
  if (!entries.ok()) return ToGrpcStatus(entries.status());
  for (v1::AccessEntry& entry : *entries) {
    *response->add_entries() = std::move(entry);
  }
  return grpc::Status::OK;
}

}  // namespace throughline::services::auth
