#include "services/auth/gate.h"

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "eventstore/errors.h"
#include "eventstore/format.h"
#include "grpcpp/security/auth_context.h"
#include "services/auth/policy.h"

namespace throughline::services::auth {
namespace {

constexpr char kBearerPrefix[] = "Bearer ";

// The metadata key holding the verdict: random per process, so that no
// client can send one.
const std::string& VerdictKey() {
  static const std::string* key = [] {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof(bytes)) != 1) std::abort();
    return new std::string(absl::StrCat(
        "throughline-verdict-",
        absl::BytesToHexString(absl::string_view(
            reinterpret_cast<const char*>(bytes), sizeof(bytes)))));
  }();
  return *key;
}

storage::Verdict Refused(absl::StatusCode code, absl::string_view message,
                         absl::string_view method) {
  storage::Verdict verdict;
  verdict.set_code(static_cast<int32_t>(code));
  verdict.set_message(std::string(message));
  verdict.set_method(std::string(method));
  return verdict;
}

// The SHA-256 of the DER encoding of the peer's certificate, lowercase hex;
// "" when there is none.
std::string PeerCertificateSha256(const grpc::AuthContext* auth_context) {
  if (auth_context == nullptr) return "";
  std::vector<grpc::string_ref> pems =
      auth_context->FindPropertyValues("x509_pem_cert");
  if (pems.empty()) return "";
  BIO* bio = BIO_new_mem_buf(pems[0].data(), static_cast<int>(pems[0].size()));
  if (bio == nullptr) return "";
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) return "";
  unsigned char* der = nullptr;
  const int size = i2d_X509(cert, &der);
  X509_free(cert);
  if (size <= 0) return "";
  std::string out =
      Sha256Hex(absl::string_view(reinterpret_cast<const char*>(der), size));
  OPENSSL_free(der);
  return out;
}

class GateInterceptor : public grpc::experimental::Interceptor {
 public:
  GateInterceptor(const Gate* gate, grpc::experimental::ServerRpcInfo* info)
      : gate_(gate), info_(info) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::
                POST_RECV_INITIAL_METADATA)) {
      std::multimap<grpc::string_ref, grpc::string_ref>* metadata =
          methods->GetRecvInitialMetadata();
      std::shared_ptr<const grpc::AuthContext> auth_context =
          info_->server_context()->auth_context();
      verdict_ =
          gate_->VerdictEntry(info_->method(), *metadata, auth_context.get());
      metadata->erase(grpc::string_ref(verdict_.first));
      metadata->emplace(grpc::string_ref(verdict_.first),
                        grpc::string_ref(verdict_.second));
    }
    methods->Proceed();
  }

 private:
  const Gate* const gate_;
  grpc::experimental::ServerRpcInfo* const info_;
  // Lives as long as the call: the metadata map refers to it.
  std::pair<std::string, std::string> verdict_;
};

class GateInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit GateInterceptorFactory(const Gate* gate) : gate_(gate) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new GateInterceptor(gate_, info);
  }

 private:
  const Gate* const gate_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
Gate::NewInterceptorFactory() const {
  return std::make_unique<GateInterceptorFactory>(this);
}

storage::Verdict Gate::Decide(
    absl::string_view method,
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const grpc::AuthContext* auth_context) const {
  if (IsPublic(method)) {
    storage::Verdict verdict;
    verdict.set_method(std::string(method));
    return verdict;
  }
  const absl::Time now = absl::Now();
  absl::StatusOr<v1::Token> token =
      absl::UnauthenticatedError("a valid credential is required");
  const auto [begin, end] = metadata.equal_range("authorization");
  if (begin != end) {
    const absl::string_view value(begin->second.data(), begin->second.size());
    if (std::next(begin) == end && absl::StartsWith(value, kBearerPrefix)) {
      token = store_->AuthenticateBearer(
          value.substr(sizeof(kBearerPrefix) - 1), now);
    }
  } else if (std::string fingerprint = PeerCertificateSha256(auth_context);
             !fingerprint.empty()) {
    token = store_->AuthenticateCertificate(fingerprint, now);
  }
  if (!token.ok()) {
    return Refused(token.status().code(), token.status().message(), method);
  }
  storage::Verdict verdict;
  *verdict.mutable_principal() = token->principal();
  verdict.set_token_id(token->token_id());
  verdict.set_method(std::string(method));
  if (token->principal().role() == v1::ROLE_INTERNAL) {
    const auto [t_begin, t_end] = metadata.equal_range(kInternalTenantKey);
    if (t_begin == t_end || std::next(t_begin) != t_end) {
      return Refused(absl::StatusCode::kInvalidArgument,
                     "tenant: the bus ingestion names exactly one trust",
                     method);
    }
    std::string trust(t_begin->second.data(), t_begin->second.size());
    if (absl::Status s = eventstore::ValidateTenant(trust); !s.ok()) {
      storage::Verdict refused = Refused(s.code(), s.message(), method);
      refused.set_field(eventstore::ErrorField(s).value_or(""));
      return refused;
    }
    verdict.mutable_principal()->set_trust(trust);
  }
  if (absl::Status s = Permit(verdict.principal(), method); !s.ok()) {
    return Refused(s.code(), s.message(), method);
  }
  return verdict;
}

std::pair<std::string, std::string> Gate::VerdictEntry(
    absl::string_view method,
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
    const grpc::AuthContext* auth_context) const {
  return {VerdictKey(),
          Decide(method, metadata, auth_context).SerializeAsString()};
}

absl::StatusOr<Caller> Admit(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(VerdictKey()));
  storage::Verdict verdict;
  if (it == metadata.end() ||
      !verdict.ParseFromArray(it->second.data(),
                              static_cast<int>(it->second.size()))) {
    return absl::UnauthenticatedError("a valid credential is required");
  }
  if (verdict.code() != 0) {
    const auto code = static_cast<absl::StatusCode>(verdict.code());
    absl::string_view description = verdict.message();
    if (!verdict.field().empty() &&
        absl::ConsumePrefix(&description,
                            absl::StrCat(verdict.field(), ": "))) {
      return eventstore::FieldError(code, verdict.field(), description);
    }
    return absl::Status(code, verdict.message());
  }
  Caller caller;
  caller.principal = std::move(*verdict.mutable_principal());
  caller.token_id = std::move(*verdict.mutable_token_id());
  caller.method = std::move(*verdict.mutable_method());
  return caller;
}

absl::Status OutOfScope(absl::string_view field) {
  return absl::PermissionDeniedError(
      absl::StrCat(field, ": outside what this credential may read"));
}

bool SeesSchool(const Caller& caller, absl::string_view school_id) {
  if (caller.role() != v1::ROLE_SCHOOL_LEADER) return true;
  const auto& schools = caller.principal.school_ids();
  return std::find(schools.begin(), schools.end(), school_id) != schools.end();
}

}  // namespace throughline::services::auth
