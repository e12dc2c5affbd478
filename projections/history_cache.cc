#include "projections/history_cache.h"

#include <algorithm>
#include <utility>

namespace throughline::projections {

HistoryCache::HistoryCache(const FactStore* facts, size_t max_facts)
    : facts_(facts), max_facts_(max_facts) {}

absl::StatusOr<size_t> HistoryCache::Read(const std::string& tenant,
                                          uint64_t from, uint64_t to,
                                          TrustHistory* history) const {
  size_t count = 0;
  absl::Status scanned =
      facts_->Scan(tenant, {}, from + 1, to, [&](Fact&& fact) {
        history->Add(std::move(fact));
        ++count;
      });
  if (!scanned.ok()) return scanned;
  return count;
}

std::shared_ptr<HistoryCache::Entry> HistoryCache::EntryFor(
    const std::string& tenant) {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<Entry>& entry = entries_[tenant];
  if (entry == nullptr) entry = std::make_shared<Entry>();
  recent_.remove(tenant);
  recent_.push_front(tenant);
  return entry;
}

void HistoryCache::Account(const std::string& tenant, const Entry* entry,
                           size_t facts) {
  std::vector<std::shared_ptr<Entry>> dropped;  // Released outside mu_.
  {
    absl::MutexLock lock(&mu_);
    auto current = entries_.find(tenant);
    // Dropped meanwhile: its history goes with the last query holding it.
    if (current == entries_.end() || current->second.get() != entry) return;
    size_t& size = sizes_[tenant];
    total_ = total_ - size + facts;
    size = facts;
    for (auto it = recent_.end();
         total_ > max_facts_ && it != recent_.begin();) {
      --it;
      if (*it == tenant && facts <= max_facts_) continue;
      auto entry = entries_.find(*it);
      if (entry != entries_.end()) {
        dropped.push_back(std::move(entry->second));
        entries_.erase(entry);
      }
      total_ -= sizes_[*it];
      sizes_.erase(*it);
      it = recent_.erase(it);
    }
  }
}

absl::StatusOr<std::shared_ptr<const TrustHistory>> HistoryCache::At(
    const std::string& tenant, uint64_t position) {
  std::shared_ptr<Entry> entry = EntryFor(tenant);
  absl::MutexLock lock(&entry->mu);
  if (entry->history != nullptr) {
    if (entry->history->position() <= position && position <= entry->scanned) {
      // No fact between the cached history's last one and `position`.
      return std::shared_ptr<const TrustHistory>(entry->history);
    }
    if (entry->scanned < position) {
      if (entry->history.use_count() > 1) {
        // A query still reads this snapshot: advance a copy.
        entry->history = std::make_shared<TrustHistory>(*entry->history);
      }
      absl::StatusOr<size_t> added =
          Read(tenant, entry->scanned, position, entry->history.get());
      if (!added.ok()) {
        entry->history.reset();
        entry->scanned = 0;
        entry->facts = 0;
        Account(tenant, entry.get(), 0);
        return added.status();
      }
      entry->scanned = position;
      entry->facts += *added;
      std::shared_ptr<const TrustHistory> result = entry->history;
      Account(tenant, entry.get(), entry->facts);
      return result;
    }
  }
  // Nothing cached, or a query as of an older position than the cache's.
  auto history = std::make_shared<TrustHistory>();
  absl::StatusOr<size_t> read = Read(tenant, 0, position, history.get());
  if (!read.ok()) return read.status();
  if (entry->history == nullptr && max_facts_ > 0 && *read <= max_facts_) {
    entry->history = history;
    entry->scanned = position;
    entry->facts = *read;
    Account(tenant, entry.get(), *read);
  }
  return std::shared_ptr<const TrustHistory>(std::move(history));
}

size_t HistoryCache::cached_facts() const {
  absl::MutexLock lock(&mu_);
  return total_;
}

}  // namespace throughline::projections
