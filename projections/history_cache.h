// HistoryCache: each trust's history at the newest position queried, kept
// in memory and advanced with only the facts applied since, so that a view
// query at the head reads a few new facts instead of the whole trust.
//
// Histories are shared, immutable snapshots: a query holds the snapshot it
// was given while it computes, and advancing a snapshot some query still
// holds copies it first. A query as of an older position than the cached
// one (an as_of_position in the past) loads its own history.
//
// Memory is bounded by a number of facts over all cached trusts: the least
// recently used trusts are dropped to stay within it, and a trust larger
// than the whole budget is never cached (each of its queries loads).
//
// Thread safety: all methods are safe to call concurrently.

#ifndef THROUGHLINE_PROJECTIONS_HISTORY_CACHE_H_
#define THROUGHLINE_PROJECTIONS_HISTORY_CACHE_H_

#include <cstdint>
#include <list>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "projections/fact_store.h"
#include "projections/history.h"

namespace throughline::projections {

class HistoryCache {
 public:
  // `facts` must outlive the cache. `max_facts` 0 turns caching off.
  HistoryCache(const FactStore* facts, size_t max_facts);

  // The tenant's history as of `position`: every fact at a position <=
  // `position`. REQUIRES: the FactStore has applied the log up to
  // `position` (Projector::CatchUp).
  absl::StatusOr<std::shared_ptr<const TrustHistory>> At(
      const std::string& tenant, uint64_t position);

  // Facts held by cached histories now (for tests and metrics).
  size_t cached_facts() const;

 private:
  struct Entry {
    absl::Mutex mu;  // Serializes advancing this tenant's history.
    std::shared_ptr<TrustHistory> history ABSL_GUARDED_BY(mu);
    // Every fact up to this position is in `history`.
    uint64_t scanned ABSL_GUARDED_BY(mu) = 0;
    size_t facts ABSL_GUARDED_BY(mu) = 0;
  };

  // Reads the facts in (from, to] into `history`; returns how many.
  absl::StatusOr<size_t> Read(const std::string& tenant, uint64_t from,
                              uint64_t to, TrustHistory* history) const;
  std::shared_ptr<Entry> EntryFor(const std::string& tenant);
  // Records the tenant's new size and drops least recently used trusts
  // beyond the budget (never `tenant` itself unless it alone is too big).
  // Ignored when `entry` is no longer the tenant's (dropped meanwhile).
  void Account(const std::string& tenant, const Entry* entry, size_t facts);

  const FactStore* const facts_;
  const size_t max_facts_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Entry>> entries_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, size_t> sizes_ ABSL_GUARDED_BY(mu_);
  std::list<std::string> recent_ ABSL_GUARDED_BY(mu_);  // Most recent first.
  size_t total_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace throughline::projections

#endif  // THROUGHLINE_PROJECTIONS_HISTORY_CACHE_H_
