#include "projections/projector.h"

#include <deque>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"

namespace throughline::projections {
namespace {

constexpr size_t kPageSize = 2000;
// Pages read ahead of the one being written: enough to keep the writer fed,
// few enough to bound the memory held (each at most ~3 MiB of event data).
constexpr size_t kReadAhead = 2;
// The background thread re-checks the tenant list at least this often.
constexpr absl::Duration kIdleWait = absl::Milliseconds(500);

// Stages one tenant's pages in log order, from `from` on, on a thread of its
// own, at most kReadAhead ahead of the consumer; stops after `max_pages`,
// at the head as read, at an error, or when destroyed (waiting for the page
// being read, which is dropped).
class PageReader {
 public:
  PageReader(const FactStore* facts, const eventstore::EventStore* log,
             const std::string& tenant, uint64_t from, int max_pages)
      : facts_(facts),
        log_(log),
        tenant_(tenant),
        from_(from),
        max_pages_(max_pages),
        thread_([this] { Run(); }) {}

  ~PageReader() {
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
    }
    thread_.join();
  }

  // The next page, or nullopt once the reader has stopped. A page that
  // reaches the head, or an error, is the last one.
  std::optional<absl::StatusOr<FactStore::StagedPage>> Next() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &PageReader::HasPageOrDone));
    if (pages_.empty()) return std::nullopt;
    absl::StatusOr<FactStore::StagedPage> page = std::move(pages_.front());
    pages_.pop_front();
    return page;
  }

 private:
  bool HasPageOrDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !pages_.empty() || done_;
  }
  bool HasRoomOrCancelled() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return pages_.size() < kReadAhead || cancelled_;
  }

  void Run() {
    uint64_t from = from_;
    for (int i = 0; i < max_pages_; ++i) {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &PageReader::HasRoomOrCancelled));
        if (cancelled_) break;
      }
      absl::StatusOr<FactStore::StagedPage> page =
          facts_->StageLog(tenant_, *log_, from, kPageSize);
      const bool last =
          !page.ok() || page->empty() || page->last() >= page->head();
      if (page.ok()) from = page->last() + 1;
      absl::MutexLock lock(&mu_);
      pages_.push_back(std::move(page));
      if (last) break;
    }
    absl::MutexLock lock(&mu_);
    done_ = true;
  }

  const FactStore* const facts_;
  const eventstore::EventStore* const log_;
  const std::string tenant_;
  const uint64_t from_;
  const int max_pages_;
  absl::Mutex mu_;
  std::deque<absl::StatusOr<FactStore::StagedPage>> pages_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // Last: starts once the members above exist.
};

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

absl::StatusOr<FactStore::LogProgress> Projector::Advance(
    const std::string& tenant, Tenant* state, int max_pages,
    absl::Time deadline) {
  absl::StatusOr<uint64_t> checkpoint = facts_->Checkpoint(tenant);
  if (!checkpoint.ok()) return checkpoint.status();
  // The first page is read here: a tenant less than a page behind (the
  // usual case, following new commits) needs no second thread.
  absl::StatusOr<FactStore::StagedPage> page =
      facts_->StageLog(tenant, *log_, *checkpoint + 1, kPageSize);
  std::optional<PageReader> reader;
  FactStore::LogProgress progress{*checkpoint, 0};
  for (int written = 0;;) {
    if (!page.ok()) return page.status();
    const bool more = !page->empty() && page->last() < page->head() &&
                      written + 1 < max_pages && !stopping_ &&
                      absl::Now() < deadline;
    if (more && !reader.has_value()) {
      reader.emplace(facts_, log_, tenant, page->last() + 1,
                     max_pages - written - 1);
    }
    absl::StatusOr<FactStore::LogProgress> applied =
        facts_->WriteStaged(*std::move(page));
    if (!applied.ok()) return applied.status();
    progress = *applied;
    if (progress.checkpoint >= progress.head) state->rebuilding = false;
    ++written;
    if (!more) return progress;
    std::optional<absl::StatusOr<FactStore::StagedPage>> next = reader->Next();
    if (!next.has_value()) return progress;
    page = *std::move(next);
  }
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
    absl::StatusOr<FactStore::LogProgress> applied =
        Advance(tenant, state, kPagesPerTurn, deadline);
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
        absl::StatusOr<FactStore::LogProgress> applied =
            Advance(tenant, state, kPagesPerTurn, absl::InfiniteFuture());
        if (applied.ok() && applied->checkpoint < applied->head) more = true;
      }
    }
    if (!more) log_->WaitForCommit(seen, absl::Now() + kIdleWait);
  }
}

}  // namespace throughline::projections
