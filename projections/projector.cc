#include "projections/projector.h"

#include "absl/strings/str_cat.h"

namespace throughline::projections {
namespace {

constexpr size_t kPageSize = 2000;
// The background thread re-checks the tenant list at least this often.
constexpr absl::Duration kIdleWait = absl::Milliseconds(500);

}  // namespace

Projector::Projector(const eventstore::EventStore* log, FactStore* facts)
    : log_(log), facts_(facts) {}

Projector::~Projector() { Stop(); }

void Projector::Start() {
  if (facts_->was_reset()) {
    // Every tenant starts over: report it as rebuilding until caught up.
    absl::StatusOr<std::vector<std::string>> tenants = log_->ListTenants();
    if (tenants.ok()) {
      for (const std::string& tenant : *tenants) {
        Tenant* state = TenantFor(tenant);
        absl::MutexLock lock(&state->mu);
        state->rebuilding = true;
      }
    }
  }
  thread_ = std::thread([this] { Run(); });
}

void Projector::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

Projector::Tenant* Projector::TenantFor(const std::string& tenant) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Tenant>& state = tenants_[tenant];
  if (state == nullptr) state = std::make_unique<Tenant>();
  return state.get();
}

absl::StatusOr<uint64_t> Projector::ApplyPage(const std::string& tenant,
                                              Tenant* state) {
  absl::StatusOr<FactStore::LogProgress> progress =
      facts_->ApplyLog(tenant, *log_, kPageSize);
  if (!progress.ok()) return progress.status();
  if (progress->checkpoint >= progress->head) state->rebuilding = false;
  return progress->checkpoint;
}

absl::Status Projector::CatchUp(const std::string& tenant, uint64_t target,
                                absl::Time deadline) {
  absl::StatusOr<uint64_t> head = log_->HeadPosition(tenant);
  if (!head.ok()) return head.status();
  target = std::min(target, *head);
  Tenant* state = TenantFor(tenant);
  for (;;) {
    absl::StatusOr<uint64_t> position = facts_->Checkpoint(tenant);
    if (!position.ok()) return position.status();
    if (*position >= target) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      return absl::UnavailableError(
          absl::StrCat("the views have read the log up to position ", *position,
                       " of ", target, "; retry shortly"));
    }
    absl::MutexLock lock(&state->mu);
    absl::StatusOr<uint64_t> applied = ApplyPage(tenant, state);
    if (!applied.ok()) return applied.status();
  }
}

absl::StatusOr<ProjectionProgress> Projector::Progress(
    const std::string& tenant) {
  ProjectionProgress progress;
  absl::StatusOr<uint64_t> head = log_->HeadPosition(tenant);
  if (!head.ok()) return head.status();
  absl::StatusOr<uint64_t> position = facts_->Checkpoint(tenant);
  if (!position.ok()) return position.status();
  progress.head = *head;
  progress.position = *position;
  Tenant* state = TenantFor(tenant);
  absl::MutexLock lock(&state->mu);
  progress.rebuilding = state->rebuilding && *position < *head;
  return progress;
}

absl::Status Projector::Rebuild(const std::string& tenant) {
  Tenant* state = TenantFor(tenant);
  absl::MutexLock lock(&state->mu);
  if (absl::Status s = facts_->Reset(tenant); !s.ok()) return s;
  state->rebuilding = true;
  return absl::OkStatus();
}

void Projector::Run() {
  while (!stopping_) {
    const uint64_t seen = log_->CommitCount();
    absl::StatusOr<std::vector<std::string>> tenants = log_->ListTenants();
    bool more = false;
    if (tenants.ok()) {
      for (const std::string& tenant : *tenants) {
        if (stopping_) return;
        Tenant* state = TenantFor(tenant);
        absl::MutexLock lock(&state->mu);
        absl::StatusOr<uint64_t> applied = ApplyPage(tenant, state);
        absl::StatusOr<uint64_t> head = log_->HeadPosition(tenant);
        if (applied.ok() && head.ok() && *applied < *head) more = true;
      }
    }
    if (!more) log_->WaitForCommit(seen, absl::Now() + kIdleWait);
  }
}

}  // namespace throughline::projections
