#include "services/backup.h"

#include <filesystem>
#include <map>
#include <system_error>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace throughline::services {
namespace {

constexpr char kEventStore[] = "eventstore";
constexpr char kIdPrefix[] = "backup_id=";

std::string StoreDir(const std::string& backup_dir, absl::string_view store) {
  return (std::filesystem::path(backup_dir) / std::string(store)).string();
}

// The backup id a secondary store's backup belongs to, from its metadata.
std::optional<uint32_t> SetId(absl::string_view metadata) {
  uint32_t id;
  if (!absl::ConsumePrefix(&metadata, kIdPrefix) ||
      !absl::SimpleAtoi(metadata, &id)) {
    return std::nullopt;
  }
  return id;
}

}  // namespace

const std::vector<DataStore>& DataStores() {
  static const auto* stores = new std::vector<DataStore>{
      {kEventStore, "", true,
       "restored: the event log of every trust is the source of truth"},
      {"auth", "auth", true,
       "restored: credentials and the access log (tokens made after the "
       "backup are gone; revocations after it must be redone)"},
      {"views", "views", false,
       "rebuilt from the log from position 0 when the server starts"},
      {"bus", "bus", false,
       "relay checkpoints; recovered from the JetStream stream on start, so "
       "nothing is published twice"},
  };
  return *stores;
}

BackupSet::BackupSet(std::string backup_dir,
                     std::vector<std::pair<std::string, BackupFn>> stores,
                     uint32_t keep)
    : backup_dir_(std::move(backup_dir)),
      stores_(std::move(stores)),
      keep_(keep) {}

absl::StatusOr<BackupSetOutcome> BackupSet::Take() {
  {
    absl::MutexLock lock(&mu_);
    if (running_) {
      return absl::AbortedError("a backup is already running; retry later");
    }
    running_ = true;
  }
  BackupSetOutcome result;
  absl::Status status;
  // The event store first: its backup id names the set.
  for (const auto& [name, backup] : stores_) {
    const std::string metadata =
        name == kEventStore ? std::string("throughline event store")
                            : absl::StrCat(kIdPrefix, result.backup_id);
    absl::StatusOr<eventstore::BackupOutcome> outcome =
        backup(StoreDir(backup_dir_, name), metadata);
    if (!outcome.ok()) {
      status = absl::Status(
          outcome.status().code(),
          absl::StrCat("store ", name, ": ", outcome.status().message()));
      break;
    }
    if (name == kEventStore) {
      result.backup_id = outcome->info.id;
      result.created_unix_seconds = outcome->info.created_unix_seconds;
    }
    result.stores.push_back({name, *outcome});
  }
  if (status.ok() && keep_ > 0) {
    for (const auto& [name, backup] : stores_) {
      status =
          eventstore::PurgeRocksDbBackups(StoreDir(backup_dir_, name), keep_);
      if (!status.ok()) break;
    }
  }
  absl::MutexLock lock(&mu_);
  running_ = false;
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<std::vector<BackupSetOutcome>> ListBackups(
    const std::string& backup_dir) {
  absl::StatusOr<std::vector<eventstore::BackupInfo>> events =
      eventstore::ListRocksDbBackups(StoreDir(backup_dir, kEventStore));
  if (!events.ok()) return events.status();
  std::map<uint32_t, BackupSetOutcome> sets;
  for (const eventstore::BackupInfo& info : *events) {
    BackupSetOutcome& set = sets[info.id];
    set.backup_id = info.id;
    set.created_unix_seconds = info.created_unix_seconds;
    set.stores.push_back({kEventStore, {info, 0, 0}});
  }
  for (const DataStore& store : DataStores()) {
    if (!store.durable || store.name == absl::string_view(kEventStore)) {
      continue;
    }
    absl::StatusOr<std::vector<eventstore::BackupInfo>> infos =
        eventstore::ListRocksDbBackups(StoreDir(backup_dir, store.name));
    if (!infos.ok()) continue;  // A store added after these backups.
    for (const eventstore::BackupInfo& info : *infos) {
      std::optional<uint32_t> id = SetId(info.metadata);
      if (!id || !sets.contains(*id)) continue;
      sets[*id].stores.push_back({store.name, {info, 0, 0}});
    }
  }
  std::vector<BackupSetOutcome> out;
  for (auto& [id, set] : sets) out.push_back(std::move(set));
  return out;
}

absl::StatusOr<uint32_t> RestoreBackup(const std::string& backup_dir,
                                       std::optional<uint32_t> backup_id,
                                       const std::string& target_data_dir) {
  std::error_code error;
  if (std::filesystem::exists(target_data_dir, error) &&
      !std::filesystem::is_empty(target_data_dir, error)) {
    return absl::FailedPreconditionError(
        absl::StrCat("data_dir: ", target_data_dir,
                     " is not empty; restore only into a new or empty "
                     "directory"));
  }
  absl::StatusOr<std::vector<BackupSetOutcome>> backups =
      ListBackups(backup_dir);
  if (!backups.ok()) return backups.status();
  const BackupSetOutcome* chosen = nullptr;
  for (const BackupSetOutcome& set : *backups) {
    if (!backup_id || set.backup_id == *backup_id) chosen = &set;
  }
  if (chosen == nullptr) {
    return absl::NotFoundError(absl::StrCat("backup_id: backup ", *backup_id,
                                            " is not in ", backup_dir));
  }
  // The event store lives in data_dir itself, so it goes first, while the
  // directory is still empty.
  for (const DataStore& store : DataStores()) {
    if (!store.durable) continue;
    const StoreBackupOutcome* part = nullptr;
    for (const StoreBackupOutcome& s : chosen->stores) {
      if (s.store == store.name) part = &s;
    }
    if (part == nullptr) {
      if (store.name == absl::string_view(kEventStore)) {
        return absl::DataLossError(
            absl::StrCat("backup ", chosen->backup_id, " has no event store"));
      }
      continue;  // A store that did not exist when the backup was taken.
    }
    const std::string target =
        (std::filesystem::path(target_data_dir) / store.subdir).string();
    if (absl::Status s = eventstore::RestoreRocksDb(
            StoreDir(backup_dir, store.name), part->outcome.info.id, target);
        !s.ok()) {
      return absl::Status(
          s.code(), absl::StrCat("store ", store.name, ": ", s.message()));
    }
  }
  return chosen->backup_id;
}

}  // namespace throughline::services
