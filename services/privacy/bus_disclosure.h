// BusDisclosure: each trust's switch "clear personal data on the bus"
// (docs/audit-and-privacy.md#what-a-bus-consumer-sees).
//
// The switch is a BusDisclosureSet event in the trust's "privacy" stream, so
// that every change is audited and every node that holds the log agrees on
// it. The setting in force for the event at log position P is the latest
// BusDisclosureSet at or before P (off when there is none): a decision made
// by the log, not by the moment the relay happens to publish.
//
// The relay publishes the stored (sealed) event on the replicated subjects
// whatever the setting; ClearPayload gives the separate clear form it
// publishes beside it while the setting is on. Personal data is revealed at
// publishing time, so a person erased before then reads as erased.
//
// Thread safety: all methods are safe to call concurrently.

#ifndef THROUGHLINE_SERVICES_PRIVACY_BUS_DISCLOSURE_H_
#define THROUGHLINE_SERVICES_PRIVACY_BUS_DISCLOSURE_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "eventstore/event_store.h"
#include "services/privacy/personal_data.h"
#include "throughline/privacy/v1/privacy.pb.h"

namespace throughline::services::privacy {

class BusDisclosure {
 public:
  // Both must outlive this object.
  BusDisclosure(eventstore::EventStore* store,
                const PersonalData* personal_data);

  // The setting in force at log position `position` of `tenant` (the
  // latest BusDisclosureSet at or before it; false when none).
  absl::StatusOr<bool> ClearAt(const std::string& tenant, uint64_t position);

  // The trust's latest setting and the position of its event (0: never
  // set).
  absl::StatusOr<::throughline::privacy::v1::BusDisclosure> Current(
      const std::string& tenant);

  // The clear form of `event` for the bus: its data with every sealed
  // personal field revealed (or marked erased) and confidential text left
  // out (services/auth/confidential.h), when the setting is on at its
  // position; nullopt when off. A BusDisclosureSet event is given when
  // the setting is on on either side of it, so that a consumer of the clear
  // subjects sees the switch being turned on and off.
  absl::StatusOr<std::optional<std::string>> ClearPayload(
      const std::string& tenant, const eventstore::RecordedEvent& event);

 private:
  // The trust's changes so far, as (position, clear) in log order.
  struct Changes {
    uint64_t next_revision = 0;  // Next revision of "privacy" to read.
    std::vector<std::pair<uint64_t, bool>> changes;
  };
  // Reads the privacy stream's events not seen yet into `changes`.
  absl::Status Refresh(const std::string& tenant, Changes* changes) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  eventstore::EventStore* const store_;
  const PersonalData* const personal_data_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Changes> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace throughline::services::privacy

#endif  // THROUGHLINE_SERVICES_PRIVACY_BUS_DISCLOSURE_H_
