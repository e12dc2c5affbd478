#include "projections/fact_store.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "eventstore/format.h"
#include "projections/cpd_codec.h"
#include "projections/fact_store.pb.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace throughline::projections {
namespace {

constexpr char kFactsColumnFamily[] = "facts";
constexpr char kCheckpointsColumnFamily[] = "checkpoints";
constexpr char kVersionKey[] = "version";

absl::Status FromRocks(const rocksdb::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", status.ToString()));
}

std::string KindPrefix(const std::string& tenant, FactKind kind) {
  std::string key = eventstore::TenantPrefix(tenant);
  key.push_back(static_cast<char>(kind));
  return key;
}

std::string FactKey(const std::string& tenant, FactKind kind,
                    uint64_t position) {
  std::string key = KindPrefix(tenant, kind);
  eventstore::PutFixed64BigEndian(&key, position);
  return key;
}

std::string PositionValue(uint64_t position) {
  std::string value;
  eventstore::PutFixed64BigEndian(&value, position);
  return value;
}

constexpr FactKind kAllKinds[] = {
    FactKind::kOrganisation, FactKind::kStaff,    FactKind::kObservation,
    FactKind::kLearningWalk, FactKind::kCoaching, FactKind::kAppraisal,
    FactKind::kProgramme,    FactKind::kSession,  FactKind::kFollowUp,
    FactKind::kPlanning,     FactKind::kDecision};

}  // namespace

FactKind KindOf(const cpd::CpdEvent& event) {
  using E = cpd::CpdEvent;
  switch (event.event_case()) {
    case E::kStaffMemberJoined:
    case E::kStaffMemberMoved:
    case E::kStaffMemberLeft:
      return FactKind::kStaff;
    case E::kObservationRecorded:
      return FactKind::kObservation;
    case E::kLearningWalkRecorded:
      return FactKind::kLearningWalk;
    case E::kCoachingConversationHeld:
      return FactKind::kCoaching;
    case E::kAppraisalGoalSet:
    case E::kAppraisalGoalReviewed:
      return FactKind::kAppraisal;
    case E::kProgrammeLaunched:
    case E::kEnquiryFindingsShared:
      return FactKind::kProgramme;
    case E::kSessionPlanned:
    case E::kSessionHeld:
      return FactKind::kSession;
    case E::kFollowUpEvidenced:
      return FactKind::kFollowUp;
    case E::kImprovementPriorityAdopted:
    case E::kImprovementPriorityClosed:
    case E::kCpdTimeAllocated:
    case E::kMeetingTimeRepurposed:
    case E::kCpdBudgetSet:
    case E::kCpdSpendRecorded:
      return FactKind::kPlanning;
    case E::kTrainingNeedIdentified:
    case E::kCpdDecisionRecorded:
    case E::kImpactEvaluated:
      return FactKind::kDecision;
    case E::kTrustRegistered:
    case E::kSchoolAdded:
    case E::kDepartmentAdded:
    case E::kDevelopmentAreaAdded:
    case E::kDevelopmentAreaRelabelled:
    case E::kDevelopmentAreaRetired:
    case E::EVENT_NOT_SET:
      break;
  }
  return FactKind::kOrganisation;
}

absl::StatusOr<std::unique_ptr<FactStore>> FactStore::Open(
    const std::string& path) {
  std::unique_ptr<FactStore> store(new FactStore());
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  rocksdb::ColumnFamilyOptions cf_options;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, cf_options},
      {kFactsColumnFamily, cf_options},
      {kCheckpointsColumnFamily, cf_options},
  };
  rocksdb::Status status = rocksdb::DB::Open(db_options, path, families,
                                             &store->handles_, &store->db_);
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "cannot open the views' store at ", path, ": ", status.ToString()));
  }
  store->facts_cf_ = store->handles_[1];
  store->checkpoints_cf_ = store->handles_[2];

  std::string version;
  status = store->db_->Get(rocksdb::ReadOptions(), kVersionKey, &version);
  if (!status.ok() && !status.IsNotFound()) {
    return FromRocks(status, "reading the views' version");
  }
  const std::string current = absl::StrCat(kFactStoreVersion);
  if (status.ok() && version == current) return store;

  // New or of another version: start from nothing, then rebuild.
  rocksdb::WriteBatch batch;
  for (rocksdb::ColumnFamilyHandle* cf :
       {store->facts_cf_, store->checkpoints_cf_}) {
    std::unique_ptr<rocksdb::Iterator> it(
        store->db_->NewIterator(rocksdb::ReadOptions(), cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      batch.Delete(cf, it->key());
    }
  }
  batch.Put(kVersionKey, current);
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  if (absl::Status s = FromRocks(store->db_->Write(write_options, &batch),
                                 "resetting the views");
      !s.ok()) {
    return s;
  }
  store->was_reset_ = status.ok();  // Only when an old version was found.
  return store;
}

FactStore::~FactStore() {
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    db_->DestroyColumnFamilyHandle(handle);
  }
  if (db_ != nullptr) {
    db_->Close().PermitUncheckedError();
    delete db_;
  }
}

absl::StatusOr<uint64_t> FactStore::Checkpoint(
    const std::string& tenant) const {
  std::string value;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), checkpoints_cf_, tenant, &value);
  if (status.IsNotFound()) return 0;
  if (!status.ok()) return FromRocks(status, "reading a checkpoint");
  if (value.size() != 8) return absl::DataLossError("corrupt checkpoint");
  return eventstore::DecodeFixed64BigEndian(value);
}

absl::Status FactStore::Apply(
    const std::string& tenant,
    const std::vector<eventstore::RecordedEvent>& events) {
  if (events.empty()) return absl::OkStatus();
  absl::StatusOr<uint64_t> checkpoint = Checkpoint(tenant);
  if (!checkpoint.ok()) return checkpoint.status();
  if (events.front().position != *checkpoint + 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("views of ", tenant, " are at position ", *checkpoint,
                     " but were given position ", events.front().position));
  }
  rocksdb::WriteBatch batch;
  storage::StoredFact stored;
  std::string value;
  uint64_t last = *checkpoint;
  for (const eventstore::RecordedEvent& event : events) {
    if (event.position != last + 1) {
      return absl::FailedPreconditionError("events to apply have a gap");
    }
    last = event.position;
    absl::StatusOr<cpd::CpdEvent> decoded = DecodeCpdEvent(event.record);
    if (!decoded.ok()) continue;  // Not a CPD event.
    stored.Clear();
    stored.set_occurred_at_micros(event.record.occurred_at_micros());
    stored.set_recorded_at_micros(event.record.recorded_at_micros());
    *stored.mutable_event() = *std::move(decoded);
    stored.SerializeToString(&value);
    batch.Put(facts_cf_, FactKey(tenant, KindOf(stored.event()), last), value);
  }
  batch.Put(checkpoints_cf_, tenant, PositionValue(last));
  // Not synced: after a crash the facts and checkpoint come back together,
  // possibly older, and the projector re-applies from the checkpoint.
  return FromRocks(db_->Write(rocksdb::WriteOptions(), &batch),
                   "writing facts");
}

absl::Status FactStore::Reset(const std::string& tenant) {
  rocksdb::WriteBatch batch;
  const std::string prefix = eventstore::TenantPrefix(tenant);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), facts_cf_));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    batch.Delete(facts_cf_, it->key());
  }
  batch.Delete(checkpoints_cf_, tenant);
  return FromRocks(db_->Write(rocksdb::WriteOptions(), &batch),
                   "resetting views");
}

absl::Status FactStore::Scan(const std::string& tenant,
                             const std::vector<FactKind>& kinds,
                             uint64_t max_position,
                             const std::function<void(Fact&&)>& visit) const {
  std::vector<FactKind> wanted = kinds;
  if (wanted.empty()) wanted.assign(std::begin(kAllKinds), std::end(kAllKinds));
  std::vector<Fact> facts;
  // One consistent snapshot across kinds.
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot;
  absl::Status result;
  storage::StoredFact stored;
  for (FactKind kind : wanted) {
    const std::string prefix = KindPrefix(tenant, kind);
    // Keys are prefix + 8 bytes: 9 bytes of 0xff bound the whole kind.
    const std::string end = max_position == std::numeric_limits<uint64_t>::max()
                                ? prefix + std::string(9, '\xff')
                                : FactKey(tenant, kind, max_position + 1);
    rocksdb::Slice end_slice(end);
    read_options.iterate_upper_bound = &end_slice;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(read_options, facts_cf_));
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      if (!stored.ParseFromArray(it->value().data(),
                                 static_cast<int>(it->value().size()))) {
        result = absl::DataLossError("a stored fact cannot be decoded");
        break;
      }
      Fact fact;
      fact.position = eventstore::DecodeFixed64BigEndian(
          absl::string_view(it->key().data() + prefix.size(), 8));
      fact.occurred_at = absl::FromUnixMicros(stored.occurred_at_micros());
      fact.recorded_at = absl::FromUnixMicros(stored.recorded_at_micros());
      fact.event = std::move(*stored.mutable_event());
      facts.push_back(std::move(fact));
    }
    if (result.ok()) result = FromRocks(it->status(), "reading facts");
    if (!result.ok()) break;
  }
  db_->ReleaseSnapshot(snapshot);
  if (!result.ok()) return result;
  std::sort(facts.begin(), facts.end(), [](const Fact& a, const Fact& b) {
    return a.position < b.position;
  });
  for (Fact& fact : facts) visit(std::move(fact));
  return absl::OkStatus();
}

}  // namespace throughline::projections
