#include "services/privacy/bus_disclosure.h"

#include "absl/strings/str_cat.h"
#include "services/auth/confidential.h"
#include "services/privacy/privacy_service.h"
#include "throughline/eventstore/v1/eventstore.pb.h"

namespace throughline::services::privacy {
namespace {

constexpr size_t kPage = 256;

// The BusDisclosureSet in `record`, or nullopt for any other event.
std::optional<pv1::BusDisclosureSet> ParseSet(
    const eventstore::EventRecord& record) {
  if (record.stream() != kPrivacyStream ||
      record.type() != pv1::BusDisclosureSet::descriptor()->name()) {
    return std::nullopt;
  }
  pv1::BusDisclosureSet set;
  if (!set.ParseFromString(record.data())) return std::nullopt;
  return set;
}

}  // namespace

BusDisclosure::BusDisclosure(eventstore::EventStore* store,
                             const PersonalData* personal_data)
    : store_(store), personal_data_(personal_data) {}

absl::Status BusDisclosure::Refresh(const std::string& tenant,
                                    Changes* changes) const {
  absl::StatusOr<eventstore::StreamInfo> info =
      store_->GetStreamInfo(tenant, kPrivacyStream);
  if (absl::IsNotFound(info.status())) return absl::OkStatus();
  if (!info.ok()) return info.status();
  while (changes->next_revision <= info->revision) {
    absl::StatusOr<std::vector<eventstore::RecordedEvent>> events =
        store_->ReadStream(tenant, kPrivacyStream, changes->next_revision,
                           /*backwards=*/false, kPage);
    if (!events.ok()) return events.status();
    if (events->empty()) break;
    for (const eventstore::RecordedEvent& event : *events) {
      if (std::optional<pv1::BusDisclosureSet> set = ParseSet(event.record)) {
        changes->changes.emplace_back(event.position,
                                      set->clear_personal_data());
      }
      changes->next_revision = event.record.revision() + 1;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> BusDisclosure::ClearAt(const std::string& tenant,
                                            uint64_t position) {
  absl::MutexLock lock(&mu_);
  Changes& changes = cache_[tenant];
  // Positions are assigned in commit order, so once a change after
  // `position` is known nothing before it can still appear.
  if (changes.changes.empty() || changes.changes.back().first < position) {
    if (absl::Status s = Refresh(tenant, &changes); !s.ok()) return s;
  }
  bool clear = false;
  for (const auto& [at, value] : changes.changes) {
    if (at > position) break;
    clear = value;
  }
  return clear;
}

absl::StatusOr<pv1::BusDisclosure> BusDisclosure::Current(
    const std::string& tenant) {
  absl::MutexLock lock(&mu_);
  Changes& changes = cache_[tenant];
  if (absl::Status s = Refresh(tenant, &changes); !s.ok()) return s;
  pv1::BusDisclosure out;
  if (!changes.changes.empty()) {
    out.set_position(changes.changes.back().first);
    out.set_clear_personal_data(changes.changes.back().second);
  }
  return out;
}

absl::StatusOr<std::optional<std::string>> BusDisclosure::ClearPayload(
    const std::string& tenant, const eventstore::RecordedEvent& event) {
  absl::StatusOr<bool> clear = ClearAt(tenant, event.position);
  if (!clear.ok()) return clear.status();
  if (!*clear && ParseSet(event.record).has_value() && event.position > 1) {
    clear = ClearAt(tenant, event.position - 1);
    if (!clear.ok()) return clear.status();
  }
  if (!*clear) return std::nullopt;
  // A bus consumer is nobody in particular: confidential text, which only
  // the people a record is about and by may read, is left out.
  ::throughline::eventstore::v1::RecordedEvent out;
  out.set_type(event.record.type());
  out.set_content_type(event.record.content_type());
  out.set_data(event.record.data());
  auth::RedactForCaller(auth::Caller(), &out);
  if (absl::Status s = personal_data_->RevealStoredEvent(
          tenant, out.type(), out.content_type(), out.mutable_data());
      !s.ok()) {
    return s;
  }
  return std::move(*out.mutable_data());
}

}  // namespace throughline::services::privacy
