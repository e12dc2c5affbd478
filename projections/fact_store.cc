#include "projections/fact_store.h"

#include <algorithm>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "eventstore/format.h"
#include "google/protobuf/descriptor.h"
#include "projections/fact_store.pb.h"
#include "rocksdb/db.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace throughline::projections {
namespace {

constexpr char kFactsColumnFamily[] = "facts";
constexpr char kCheckpointsColumnFamily[] = "checkpoints";
constexpr char kVersionKey[] = "version";
// Most event data one ApplyLog reads, as ReadLog's default.
constexpr size_t kMaxApplyBytes = 3 << 20;

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

void PutVarint(std::string* dst, uint64_t value) {
  while (value >= 0x80) {
    dst->push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  dst->push_back(static_cast<char>(value));
}

// Where an event type goes in a StoredFact: the CpdEvent field holding it and
// the kind it is stored under.
struct FactSlot {
  uint32_t field_number;
  FactKind kind;
};

const absl::flat_hash_map<std::string, FactSlot>& SlotsByType() {
  static const auto* slots = [] {
    auto* map = new absl::flat_hash_map<std::string, FactSlot>;
    const google::protobuf::OneofDescriptor* oneof =
        cpd::CpdEvent::descriptor()->FindOneofByName("event");
    for (int i = 0; i < oneof->field_count(); ++i) {
      const google::protobuf::FieldDescriptor* field = oneof->field(i);
      cpd::CpdEvent event;
      event.GetReflection()->MutableMessage(&event, field);
      (*map)[field->message_type()->name()] =
          FactSlot{static_cast<uint32_t>(field->number()), KindOf(event)};
    }
    return map;
  }();
  return *slots;
}

// Stages the fact of one event, if it is a CPD event: the StoredFact wire
// form written directly, with `data` (the CPD message) spliced in as the
// CpdEvent field its type names.
void StageFact(rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* cf,
               const std::string& tenant, uint64_t position,
               absl::string_view type, absl::string_view data,
               int64_t occurred_at_micros, int64_t recorded_at_micros,
               std::string* value) {
  const auto& slots = SlotsByType();
  auto it = slots.find(type);
  if (it == slots.end()) return;  // Not a CPD event.
  const FactSlot& slot = it->second;
  value->clear();
  if (occurred_at_micros != 0) {
    value->push_back(0x08);  // occurred_at_micros = 1, varint
    PutVarint(value, static_cast<uint64_t>(occurred_at_micros));
  }
  if (recorded_at_micros != 0) {
    value->push_back(0x10);  // recorded_at_micros = 2, varint
    PutVarint(value, static_cast<uint64_t>(recorded_at_micros));
  }
  std::string inner;
  PutVarint(&inner, uint64_t{slot.field_number} << 3 | 2);
  PutVarint(&inner, data.size());
  value->push_back(0x1a);  // event = 3, length-delimited
  PutVarint(value, inner.size() + data.size());
  value->append(inner);
  value->append(data.data(), data.size());
  batch->Put(cf, FactKey(tenant, slot.kind, position), *value);
}

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
    const std::string& path,
    std::shared_ptr<const eventstore::StorageMemory> memory) {
  if (memory == nullptr)
    memory = eventstore::NewStorageMemory(8 << 20, 32 << 20);
  std::unique_ptr<FactStore> store(new FactStore());
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.write_buffer_manager = memory->write_buffers;
  rocksdb::BlockBasedTableOptions table_options;
  table_options.block_cache = memory->cache;
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(
      rocksdb::NewBlockBasedTableFactory(table_options));
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
  std::string value;
  uint64_t last = *checkpoint;
  for (const eventstore::RecordedEvent& event : events) {
    if (event.position != last + 1) {
      return absl::FailedPreconditionError("events to apply have a gap");
    }
    last = event.position;
    StageFact(&batch, facts_cf_, tenant, last, event.record.type(),
              event.record.data(), event.record.occurred_at_micros(),
              event.record.recorded_at_micros(), &value);
  }
  batch.Put(checkpoints_cf_, tenant, PositionValue(last));
  // Not synced: after a crash the facts and checkpoint come back together,
  // possibly older, and the projector re-applies from the checkpoint.
  return FromRocks(db_->Write(rocksdb::WriteOptions(), &batch),
                   "writing facts");
}

FactStore::StagedPage::StagedPage()
    : batch_(std::make_unique<rocksdb::WriteBatch>()) {}
FactStore::StagedPage::StagedPage(StagedPage&&) noexcept = default;
FactStore::StagedPage& FactStore::StagedPage::operator=(StagedPage&&) noexcept =
    default;
FactStore::StagedPage::~StagedPage() = default;

absl::StatusOr<FactStore::StagedPage> FactStore::StageLog(
    const std::string& tenant, const eventstore::EventStore& log,
    uint64_t from_position, size_t max_count) const {
  StagedPage page;
  page.tenant_ = tenant;
  page.first_ = std::max<uint64_t>(from_position, 1);
  page.last_ = page.first_ - 1;
  std::string value;
  absl::StatusOr<eventstore::LogScan> scan = log.ScanLog(
      tenant, page.first_, eventstore::LogFilter(), max_count, kMaxApplyBytes,
      [&](uint64_t position, const eventstore::EventRecordView& record) {
        if (position != page.last_ + 1) {
          return absl::FailedPreconditionError("the log read has a gap");
        }
        page.last_ = position;
        StageFact(page.batch_.get(), facts_cf_, tenant, position, record.type,
                  record.data, record.occurred_at_micros,
                  record.recorded_at_micros, &value);
        return absl::OkStatus();
      });
  if (!scan.ok()) return scan.status();
  page.head_ = scan->head_position;
  if (!page.empty()) {
    page.batch_->Put(checkpoints_cf_, tenant, PositionValue(page.last_));
  }
  return page;
}

absl::StatusOr<FactStore::LogProgress> FactStore::WriteStaged(StagedPage page) {
  absl::StatusOr<uint64_t> checkpoint = Checkpoint(page.tenant_);
  if (!checkpoint.ok()) return checkpoint.status();
  return WriteStagedAt(*checkpoint, std::move(page));
}

absl::StatusOr<FactStore::LogProgress> FactStore::WriteStagedAt(
    uint64_t checkpoint, StagedPage page) {
  LogProgress progress{checkpoint, page.head_};
  if (page.empty()) return progress;
  if (page.first_ != checkpoint + 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("views of ", page.tenant_, " are at position ", checkpoint,
                     " but the page read starts at position ", page.first_));
  }
  // Not synced, as in Apply.
  if (absl::Status s =
          FromRocks(db_->Write(rocksdb::WriteOptions(), page.batch_.get()),
                    "writing facts");
      !s.ok()) {
    return s;
  }
  progress.checkpoint = page.last_;
  return progress;
}

absl::StatusOr<FactStore::LogProgress> FactStore::ApplyLog(
    const std::string& tenant, const eventstore::EventStore& log,
    size_t max_count) {
  absl::StatusOr<uint64_t> checkpoint = Checkpoint(tenant);
  if (!checkpoint.ok()) return checkpoint.status();
  absl::StatusOr<StagedPage> page =
      StageLog(tenant, log, *checkpoint + 1, max_count);
  if (!page.ok()) return page.status();
  return WriteStagedAt(*checkpoint, *std::move(page));
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
                             uint64_t min_position, uint64_t max_position,
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
    for (it->Seek(FactKey(tenant, kind, min_position)); it->Valid();
         it->Next()) {
      if (!stored.ParseFromArray(it->value().data(),
                                 static_cast<int>(it->value().size()))) {
        continue;  // Its event's data does not parse (see the header).
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
