// Projector: keeps the FactStore up with every tenant's log — a catch-up
// subscription per tenant, run by one background thread that reads from
// each tenant's checkpoint and waits for new commits. Queries may also ask
// it to catch a tenant up to a position before they read.
//
// Guarantees:
// * Each page of facts is written with its checkpoint in one atomic batch,
//   in log order, so after a stop, a crash or a restart it resumes exactly
//   after the checkpoint: nothing is applied twice or skipped.
// * One tenant's facts are written by one caller at a time (the background
//   thread or a CatchUp), and only ever from that tenant's log.
// * Tenants take turns: the background thread gives each tenant that is
//   behind at most kPagesPerTurn pages (2,000 events each) before the next
//   one's turn, so a trust being rebuilt delays the others by one turn at
//   most.
// * A tenant more than one page behind (a rebuild, a catch-up after a
//   restart) is read one page ahead on a second thread while the page
//   before is written, so reading and writing use two cores.
// * Stop returns once the page being written is done (and the one being
//   read ahead, which is dropped).
//
// It only reads the event log; it never appends.

#ifndef THROUGHLINE_PROJECTIONS_PROJECTOR_H_
#define THROUGHLINE_PROJECTIONS_PROJECTOR_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "eventstore/event_store.h"
#include "projections/fact_store.h"

namespace throughline::projections {

struct ProjectionProgress {
  uint64_t position = 0;  // Last position applied.
  uint64_t head = 0;      // The tenant's log head.
  // True while the tenant's views are being rebuilt from position 0 (after
  // a version change or a Rebuild) and have not reached the head yet.
  bool rebuilding = false;
};

class Projector {
 public:
  // Pages (of up to 2,000 events) one tenant is given per turn.
  static constexpr int kPagesPerTurn = 16;

  // `log` and `facts` must outlive the projector.
  Projector(const eventstore::EventStore* log, FactStore* facts);
  ~Projector();  // Stops the thread.

  // Starts following every tenant in the background.
  void Start();
  void Stop();

  // Applies the tenant's log until its views have read position `target`
  // (clamped to the head), or the deadline passes: then Unavailable, saying
  // how far they are.
  absl::Status CatchUp(const std::string& tenant, uint64_t target,
                       absl::Time deadline);

  absl::StatusOr<ProjectionProgress> Progress(const std::string& tenant);

  // Drops the tenant's views and rebuilds them from position 0.
  absl::Status Rebuild(const std::string& tenant);

  const FactStore& facts() const { return *facts_; }

 private:
  struct Tenant {
    absl::Mutex mu;  // Serializes applying to this tenant.
    bool rebuilding ABSL_GUARDED_BY(mu) = false;
  };

  Tenant* TenantFor(const std::string& tenant);
  // Applies pages of the tenant's log from its checkpoint, reading each
  // next page while the one before is written, until the head as read, at
  // most `max_pages` pages, the deadline or Stop. Returns where it left the
  // tenant.
  absl::StatusOr<FactStore::LogProgress> Advance(const std::string& tenant,
                                                 Tenant* state, int max_pages,
                                                 absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(state->mu);
  void Run();

  const eventstore::EventStore* const log_;
  FactStore* const facts_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Tenant>> tenants_
      ABSL_GUARDED_BY(mu_);
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace throughline::projections

#endif  // THROUGHLINE_PROJECTIONS_PROJECTOR_H_
