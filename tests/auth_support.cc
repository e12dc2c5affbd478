#include "tests/auth_support.h"

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/timestamps.h"
#include "tests/test_support.h"
#include "throughline/auth/v1/auth.grpc.pb.h"

namespace throughline::testing {

authv1::Principal PrincipalFor(const std::string& trust, authv1::Role role) {
  authv1::Principal principal;
  principal.set_name(absl::StrCat(authv1::Role_Name(role), " of ", trust));
  principal.set_role(role);
  if (role != authv1::ROLE_OPERATOR) principal.set_trust(trust);
  switch (role) {
    case authv1::ROLE_SCHOOL_LEADER:
      principal.add_school_ids("north");
      break;
    case authv1::ROLE_STAFF_MEMBER:
      principal.set_staff_id("t1");
      break;
    case authv1::ROLE_PLATFORM_WRITER:
      for (int silo = authv1::SILO_ORGANISATION; silo <= authv1::SILO_PLANNING;
           ++silo) {
        principal.add_silos(static_cast<authv1::Silo>(silo));
      }
      break;
    default:
      break;
  }
  return principal;
}

std::string MintToken(services::auth::AuthStore* store,
                      const authv1::Principal& principal,
                      absl::optional<absl::Time> expires) {
  authv1::CreateTokenRequest request;
  request.set_request_id(NewUuid());
  *request.mutable_principal() = principal;
  if (expires.has_value()) {
    services::TimeToProto(*expires, request.mutable_expires_at());
  }
  absl::StatusOr<services::auth::IssuedToken> issued =
      store->Create(request, "tests", "tests", absl::Now());
  EXPECT_TRUE(issued.ok()) << issued.status();
  return issued.ok() ? issued->secret : "";
}

std::string MintToken(services::auth::AuthStore* store,
                      const std::string& trust, authv1::Role role) {
  return MintToken(store, PrincipalFor(trust, role));
}

void Authorize(grpc::ClientContext* context, const std::string& token) {
  context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
}

std::string ReadOperatorToken(const std::string& data_dir) {
  std::ifstream in(absl::StrCat(data_dir, "/operator-token"));
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_TRUE(in.good() || in.eof()) << "no operator token in " << data_dir;
  return std::string(absl::StripAsciiWhitespace(text.str()));
}

std::string MintTokenThrough(const std::shared_ptr<grpc::Channel>& channel,
                             const std::string& operator_token,
                             const authv1::Principal& principal) {
  auto stub = authv1::AuthService::NewStub(channel);
  authv1::CreateTokenRequest request;
  request.set_request_id(NewUuid());
  *request.mutable_principal() = principal;
  authv1::CreateTokenResponse response;
  grpc::ClientContext context;
  Authorize(&context, operator_token);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  grpc::Status status = stub->CreateToken(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_code() << ": "
                           << status.error_message();
  return response.secret();
}

namespace {
absl::Mutex book_mu(absl::kConstInit);
std::map<std::string, std::string>& Book() {
  static auto* book = new std::map<std::string, std::string>();
  return *book;
}
}  // namespace

void RememberToken(const std::string& trust, const std::string& token) {
  absl::MutexLock lock(&book_mu);
  Book()[trust] = token;
}

std::string RememberedToken(const std::string& trust) {
  absl::MutexLock lock(&book_mu);
  auto it = Book().find(trust);
  return it == Book().end() ? "" : it->second;
}

}  // namespace throughline::testing
