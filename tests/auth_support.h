// Credentials for tests: a token for (trust, role) in one line.
//
//   std::string token = testing::MintToken(server->auth_store(), "northfield");
//   testing::Authorize(&context, token);
//
// Tokens are minted straight into the server's AuthStore (what
// `throughline tokens create` does through AuthService); a test of a server
// process reads the bootstrap operator token from its data directory and
// mints through AuthService instead.

#ifndef THROUGHLINE_TESTS_AUTH_SUPPORT_H_
#define THROUGHLINE_TESTS_AUTH_SUPPORT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "services/auth/auth_store.h"
#include "throughline/auth/v1/auth.pb.h"

namespace throughline::testing {

namespace authv1 = ::throughline::auth::v1;

// The principal of `role` in `trust`, named after them, with a school
// ("north") for a school leader, a person ("t1") for a staff member and
// every silo for a platform writer unless given.
authv1::Principal PrincipalFor(const std::string& trust,
                               authv1::Role role = authv1::ROLE_ADMIN);

// A new bearer token for `principal`; fails the test (and returns "") if
// the store refuses.
std::string MintToken(services::auth::AuthStore* store,
                      const authv1::Principal& principal,
                      absl::optional<absl::Time> expires = absl::nullopt);
// A new bearer token for (trust, role) as PrincipalFor makes it.
std::string MintToken(services::auth::AuthStore* store,
                      const std::string& trust,
                      authv1::Role role = authv1::ROLE_ADMIN);

// Sends `token` with the call.
void Authorize(grpc::ClientContext* context, const std::string& token);

// The operator token a server wrote into `data_dir` on its first start.
std::string ReadOperatorToken(const std::string& data_dir);

// A new bearer token for `principal`, created through AuthService of the
// server behind `channel` with `operator_token` (for a server in another
// process). Fails the test (and returns "") if refused.
std::string MintTokenThrough(const std::shared_ptr<grpc::Channel>& channel,
                             const std::string& operator_token,
                             const authv1::Principal& principal);

// A process-wide book of one token per trust, for tests whose helpers are
// free functions: Remember after minting, Remembered when calling ("" when
// none, which sends no credential).
void RememberToken(const std::string& trust, const std::string& token);
std::string RememberedToken(const std::string& trust);

}  // namespace throughline::testing

#endif  // THROUGHLINE_TESTS_AUTH_SUPPORT_H_
