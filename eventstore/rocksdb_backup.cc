#include "eventstore/rocksdb_backup.h"

#include <filesystem>
#include <memory>
#include <system_error>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/utilities/backup_engine.h"

namespace throughline::eventstore {
namespace {

rocksdb::BackupEngineOptions EngineOptions(const std::string& backup_dir) {
  rocksdb::BackupEngineOptions options(backup_dir);
  // Table files are shared between backups, named by checksum and size
  // (the default naming), which is what makes later backups incremental.
  options.share_table_files = true;
  options.share_files_with_checksum = true;
  options.sync = true;
  options.max_background_operations = 1;
  return options;
}

BackupInfo FromRocks(const rocksdb::BackupInfo& info) {
  BackupInfo out;
  out.id = info.backup_id;
  out.created_unix_seconds = info.timestamp;
  out.size_bytes = info.size;
  out.file_count = info.number_files;
  out.metadata = info.app_metadata;
  return out;
}

// The data files in a backup directory (not the backups' meta files).
absl::flat_hash_map<std::string, uint64_t> DataFiles(
    const std::string& backup_dir) {
  absl::flat_hash_map<std::string, uint64_t> files;
  std::error_code error;
  const std::filesystem::path meta = std::filesystem::path(backup_dir) / "meta";
  for (auto it =
           std::filesystem::recursive_directory_iterator(backup_dir, error);
       !error && it != std::filesystem::recursive_directory_iterator();
       it.increment(error)) {
    if (it->path().parent_path() == meta) continue;
    if (it->is_regular_file(error)) {
      files[it->path().string()] = it->file_size(error);
    }
  }
  return files;
}

// Opens the backup engine (read-write or read-only) over `backup_dir`.
template <typename Engine>
absl::StatusOr<std::unique_ptr<Engine>> OpenEngine(
    const std::string& backup_dir) {
  Engine* raw = nullptr;
  rocksdb::IOStatus status =
      Engine::Open(EngineOptions(backup_dir), rocksdb::Env::Default(), &raw);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat(
        "cannot open backup directory ", backup_dir, ": ", status.ToString()));
  }
  return std::unique_ptr<Engine>(raw);
}

}  // namespace

absl::StatusOr<BackupOutcome> BackupRocksDb(rocksdb::DB* db,
                                            const std::string& backup_dir,
                                            const std::string& metadata) {
  std::error_code error;
  std::filesystem::create_directories(backup_dir, error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot create backup directory ",
                                            backup_dir, ": ", error.message()));
  }
  absl::StatusOr<std::unique_ptr<rocksdb::BackupEngine>> engine =
      OpenEngine<rocksdb::BackupEngine>(backup_dir);
  if (!engine.ok()) return engine.status();

  const absl::flat_hash_map<std::string, uint64_t> before =
      DataFiles(backup_dir);

  rocksdb::CreateBackupOptions create;
  // Flushing first turns the memtable (every acknowledged write) into a
  // table file, so the backup is table files only and the next backup
  // shares them instead of copying a growing write-ahead log again.
  create.flush_before_backup = true;
  rocksdb::BackupID id = 0;
  rocksdb::IOStatus status =
      (*engine)->CreateNewBackupWithMetadata(create, db, metadata, &id);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("backup into ", backup_dir,
                                            " failed: ", status.ToString()));
  }
  rocksdb::BackupInfo info;
  rocksdb::Status s = (*engine)->GetBackupInfo(id, &info);
  if (!s.ok()) {
    return absl::InternalError(absl::StrCat("reading backup ", id, " in ",
                                            backup_dir, ": ", s.ToString()));
  }
  BackupOutcome outcome;
  outcome.info = FromRocks(info);
  // What the backup added to the directory; the rest of its files were
  // there already, shared with earlier backups.
  for (const auto& [path, size] : DataFiles(backup_dir)) {
    if (!before.contains(path)) {
      ++outcome.new_files;
      outcome.new_bytes += size;
    }
  }
  return outcome;
}

absl::Status PurgeRocksDbBackups(const std::string& backup_dir, uint32_t keep) {
  absl::StatusOr<std::unique_ptr<rocksdb::BackupEngine>> engine =
      OpenEngine<rocksdb::BackupEngine>(backup_dir);
  if (!engine.ok()) return engine.status();
  rocksdb::IOStatus status = (*engine)->PurgeOldBackups(keep < 1 ? 1 : keep);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat(
        "purging old backups in ", backup_dir, ": ", status.ToString()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<BackupInfo>> ListRocksDbBackups(
    const std::string& backup_dir) {
  std::error_code error;
  if (!std::filesystem::is_directory(backup_dir, error)) {
    return absl::NotFoundError(
        absl::StrCat("no backups: ", backup_dir, " is not a directory"));
  }
  absl::StatusOr<std::unique_ptr<rocksdb::BackupEngineReadOnly>> engine =
      OpenEngine<rocksdb::BackupEngineReadOnly>(backup_dir);
  if (!engine.ok()) return engine.status();
  std::vector<rocksdb::BackupInfo> infos;
  (*engine)->GetBackupInfo(&infos);
  if (infos.empty()) {
    return absl::NotFoundError(absl::StrCat("no backups in ", backup_dir));
  }
  std::vector<BackupInfo> out;
  for (const rocksdb::BackupInfo& info : infos) out.push_back(FromRocks(info));
  return out;
}

absl::Status RestoreRocksDb(const std::string& backup_dir, uint32_t id,
                            const std::string& target_dir) {
  std::error_code error;
  if (std::filesystem::exists(target_dir, error) &&
      !std::filesystem::is_empty(target_dir, error)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "restore target ", target_dir,
        " is not empty; restore only into a new or empty directory"));
  }
  absl::StatusOr<std::vector<BackupInfo>> backups =
      ListRocksDbBackups(backup_dir);
  if (!backups.ok()) return backups.status();
  bool found = false;
  for (const BackupInfo& info : *backups) found = found || info.id == id;
  if (!found) {
    return absl::NotFoundError(
        absl::StrCat("backup ", id, " is not in ", backup_dir));
  }
  absl::StatusOr<std::unique_ptr<rocksdb::BackupEngineReadOnly>> engine =
      OpenEngine<rocksdb::BackupEngineReadOnly>(backup_dir);
  if (!engine.ok()) return engine.status();
  rocksdb::IOStatus status = (*engine)->RestoreDBFromBackup(
      rocksdb::RestoreOptions(), id, target_dir, target_dir);
  if (status.IsCorruption()) {
    return absl::DataLossError(absl::StrCat(
        "backup ", id, " in ", backup_dir, " is damaged: ", status.ToString()));
  }
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("restoring backup ", id, " into ",
                                            target_dir, ": ",
                                            status.ToString()));
  }
  return absl::OkStatus();
}

}  // namespace throughline::eventstore
