#include "services/cluster/cluster_service.h"

#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "eventstore/errors.h"
#include "eventstore/format.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "services/auth/gate.h"
#include "services/cluster/restore.h"
#include "services/grpc_status.h"

namespace throughline::services::cluster {
namespace {

namespace v1 = ::throughline::cluster::v1;

// Longest a move waits for the relay to publish the frozen trust.
constexpr absl::Duration kRelayCatchUp = absl::Seconds(60);
// Longest a move waits for the target's restore.
constexpr absl::Duration kTargetRestore = absl::Minutes(10);

absl::Status ValidateTrust(const std::string& trust) {
  absl::Status s = eventstore::ValidateTenant(trust);
  if (s.ok()) return s;
  std::string message(s.message());
  if (const size_t colon = message.find(": "); colon != std::string::npos) {
    message = message.substr(colon + 2);
  }
  return eventstore::InvalidField("trust", message);
}

void FillOwner(const std::string& trust, const Placement::Owner& owner,
               const std::string& this_node, v1::TrustOwner* out) {
  out->set_trust(trust);
  out->set_node(owner.node);
  out->set_address(owner.address);
  out->set_placement_revision(owner.revision);
  out->set_this_node(owner.node == this_node);
}

}  // namespace

grpc::Status ClusterService::GetTrustOwner(
    grpc::ServerContext* context, const v1::GetTrustOwnerRequest* request,
    v1::TrustOwner* response) {
  if (absl::StatusOr<auth::Caller> caller = auth::Admit(*context);
      !caller.ok()) {
    return ToGrpcStatus(caller.status());
  }
  if (absl::Status s = ValidateTrust(request->trust()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  absl::StatusOr<Placement::Owner> owner =
      placement_->OwnerOf(request->trust());
  if (!owner.ok()) return ToGrpcStatus(owner.status());
  if (owner->node.empty()) {
    return ToGrpcStatus(eventstore::FieldError(
        absl::StatusCode::kNotFound, "trust",
        absl::StrCat("no node serves trust ", request->trust(),
                     " yet; the first node that gets one of its calls "
                     "claims it")));
  }
  FillOwner(request->trust(), *owner, placement_->options().node_id, response);
  return grpc::Status::OK;
}

grpc::Status ClusterService::RestoreTrust(
    grpc::ServerContext* context, const v1::RestoreTrustRequest* request,
    v1::RestoreTrustResponse* response) {
  if (absl::StatusOr<auth::Caller> caller = auth::Admit(*context);
      !caller.ok()) {
    return ToGrpcStatus(caller.status());
  }
  const std::string& trust = request->trust();
  const std::string& self = placement_->options().node_id;
  if (absl::Status s = ValidateTrust(trust); !s.ok()) return ToGrpcStatus(s);
  if (!request->from_bus()) {
    return ToGrpcStatus(eventstore::InvalidField(
        "from_bus", "must be set: a trust is restored from the bus"));
  }
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Placement::Owner> owner = placement_->OwnerOf(trust);
  if (!owner.ok()) return ToGrpcStatus(owner.status());
  if (owner->node == self) {
    return ToGrpcStatus(eventstore::FieldError(
        absl::StatusCode::kFailedPrecondition, "trust",
        absl::StrCat("this node (", self, ") already serves trust ", trust)));
  }
  if (!request->expected_owner().empty() &&
      owner->node != request->expected_owner()) {
    return ToGrpcStatus(eventstore::FieldError(
        absl::StatusCode::kFailedPrecondition, "expected_owner",
        absl::StrCat("trust ", trust, " is owned by node \"", owner->node,
                     "\", not \"", request->expected_owner(), "\"")));
  }
  // Every carried key must be usable here before anything is appended:
  // events whose keys do not unwrap would read as erased on this node.
  for (const v1::TrustSecret& secret : request->secrets()) {
    absl::Status s =
        personal_data_->CheckWrappedKey(trust, secret.name(), secret.value());
    if (absl::IsFailedPrecondition(s)) {
      return ToGrpcStatus(eventstore::FieldError(
          absl::StatusCode::kFailedPrecondition, "secrets",
          absl::StrCat(s.message(),
                       ": this node's master key differs from the source "
                       "node's; use the same master_key_file on every node")));
    }
    if (!s.ok()) {
      return ToGrpcStatus(eventstore::InvalidField("secrets", s.message()));
    }
  }
  bus::NatsConnection* conn = placement_->connection();
  if (conn == nullptr) {
    return ToGrpcStatus(absl::UnavailableError(
        "this node is not connected to NATS; retry shortly"));
  }
  absl::StatusOr<ReplayResult> replay =
      ReplayFromBus(store_, conn, relay_->options(), trust);
  if (!replay.ok()) return ToGrpcStatus(replay.status());
  // A live owner would have published more meanwhile: taking the trust
  // from under it would lose those events.
  absl::StatusOr<uint64_t> last =
      LastPublishedPosition(conn, relay_->options(), trust);
  if (!last.ok()) return ToGrpcStatus(last.status());
  if (*last != replay->head) {
    return ToGrpcStatus(eventstore::FieldError(
        absl::StatusCode::kFailedPrecondition, "trust",
        absl::StrCat("node ", owner->node, " is still publishing trust ", trust,
                     " (position ", *last, " after the restored ", replay->head,
                     "); move a live trust with MoveTrust on its owner")));
  }
  // Keys this node already holds stay: they are the same keys (a trust
  // moving back) or this node's own.
  for (const v1::TrustSecret& secret : request->secrets()) {
    absl::StatusOr<std::optional<std::string>> held =
        store_->GetSecret(trust, secret.name());
    if (!held.ok()) return ToGrpcStatus(held.status());
    if (held->has_value()) continue;
    if (absl::Status s =
            store_->PutSecret(trust, secret.name(), secret.value());
        !s.ok()) {
      return ToGrpcStatus(s);
    }
  }
  if (request->secrets_complete()) {
    absl::flat_hash_set<std::string> carried;
    for (const v1::TrustSecret& secret : request->secrets()) {
      carried.insert(secret.name());
    }
    if (absl::StatusOr<size_t> dropped =
            personal_data_->DestroyKeysNotIn(trust, carried);
        !dropped.ok()) {
      return ToGrpcStatus(dropped.status());
    }
  }
  absl::StatusOr<Placement::Owner> now =
      placement_->SetOwner(trust, self, owner->revision);
  if (!now.ok()) return ToGrpcStatus(now.status());
  FillOwner(trust, *now, self, response->mutable_owner());
  response->set_previous_head_position(replay->previous_head);
  response->set_head_position(replay->head);
  response->set_events_restored(replay->restored);
  response->set_chain_head_hash(
      std::string(replay->chain_head.begin(), replay->chain_head.end()));
  return grpc::Status::OK;
}

grpc::Status ClusterService::MoveTrust(grpc::ServerContext* context,
                                       const v1::MoveTrustRequest* request,
                                       v1::MoveTrustResponse* response) {
  if (absl::StatusOr<auth::Caller> caller = auth::Admit(*context);
      !caller.ok()) {
    return ToGrpcStatus(caller.status());
  }
  const std::string& trust = request->trust();
  const std::string& target = request->to_node();
  const std::string& self = placement_->options().node_id;
  if (absl::Status s = ValidateTrust(trust); !s.ok()) return ToGrpcStatus(s);
  if (target.empty()) {
    return ToGrpcStatus(eventstore::InvalidField("to_node", "is required"));
  }
  if (target == self) {
    return ToGrpcStatus(
        eventstore::FieldError(absl::StatusCode::kFailedPrecondition, "to_node",
                               absl::StrCat("\"", target, "\" is this node")));
  }
  absl::MutexLock lock(&mu_);
  if (absl::Status s = placement_->Admit(trust); !s.ok()) {
    return ToGrpcStatus(s);
  }
  absl::StatusOr<Placement::Owner> owner = placement_->OwnerOf(trust);
  if (!owner.ok()) return ToGrpcStatus(owner.status());
  const std::string address = placement_->AddressOf(target);
  if (address.empty()) {
    return ToGrpcStatus(eventstore::FieldError(
        absl::StatusCode::kFailedPrecondition, "to_node",
        absl::StrCat("node \"", target, "\" has never registered")));
  }

  absl::StatusOr<uint64_t> head = store_->FreezeTenant(trust);
  if (!head.ok()) return ToGrpcStatus(head.status());
  struct Thaw {
    eventstore::EventStore* store;
    const std::string& trust;
    ~Thaw() { store->ThawTenant(trust); }
  } thaw{store_, trust};
  response->set_head_position(*head);

  if (*head == 0) {  // Nothing to carry: only the placement moves.
    absl::StatusOr<Placement::Owner> now =
        placement_->SetOwner(trust, target, owner->revision);
    if (!now.ok()) return ToGrpcStatus(now.status());
    FillOwner(trust, *now, self, response->mutable_owner());
    return grpc::Status::OK;
  }

  const absl::Time deadline = std::min(absl::FromChrono(context->deadline()),
                                       absl::Now() + kRelayCatchUp);
  for (;;) {
    const bus::Relay::Status status = relay_->GetStatus(trust);
    if (!status.tenants.empty() && status.tenants[0].published >= *head) break;
    if (absl::Now() >= deadline || context->IsCancelled()) {
      return ToGrpcStatus(absl::DeadlineExceededError(absl::StrCat(
          "the relay has not published trust ", trust, " up to position ",
          *head, " (",
          status.last_error.message.empty() ? "no error"
                                            : status.last_error.message,
          "); the trust stays on this node")));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }

  // The trust's secrets (its personal data's wrapped keys), read while it
  // is frozen so that no key created by a later append is left behind.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> secrets =
      store_->ListSecrets(trust, "");
  if (!secrets.ok()) return ToGrpcStatus(secrets.status());

  auto stub = v1::ClusterService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext call;
  call.set_deadline(absl::ToChronoTime(absl::Now() + kTargetRestore));
  if (!request->target_token().empty()) {
    call.AddMetadata("authorization",
                     absl::StrCat("Bearer ", request->target_token()));
  } else if (auto it = context->client_metadata().find("authorization");
             it != context->client_metadata().end()) {
    call.AddMetadata("authorization",
                     std::string(it->second.data(), it->second.size()));
  }
  v1::RestoreTrustRequest restore;
  restore.set_trust(trust);
  restore.set_from_bus(true);
  restore.set_expected_owner(self);
  restore.set_secrets_complete(true);
  for (const auto& [name, value] : *secrets) {
    v1::TrustSecret* secret = restore.add_secrets();
    secret->set_name(name);
    secret->set_value(value);
  }
  v1::RestoreTrustResponse restored;
  grpc::Status status = stub->RestoreTrust(&call, restore, &restored);
  if (!status.ok()) {
    return grpc::Status(status.error_code(),
                        absl::StrCat("node ", target, " at ", address,
                                     " could not restore trust ", trust, ": ",
                                     status.error_message()),
                        status.error_details());
  }
  placement_->NoteOwner(trust, restored.owner().node(),
                        restored.owner().placement_revision());
  *response->mutable_owner() = restored.owner();
  response->mutable_owner()->set_this_node(false);
  return grpc::Status::OK;
}

}  // namespace throughline::services::cluster
