// Online, incremental backups of a RocksDB database with RocksDB's
// BackupEngine, and offline restores from them.
//
// A backup directory holds any number of backups of one database. Table
// files are immutable and named by content (checksum and size), so a later
// backup copies only the table files the earlier ones lack and shares the
// rest. A backup is consistent: it is the database as of one moment during
// the call (every write acknowledged before the call began is in it), while
// writes continue. Generic: knows nothing about what the database holds.

#ifndef THROUGHLINE_EVENTSTORE_ROCKSDB_BACKUP_H_
#define THROUGHLINE_EVENTSTORE_ROCKSDB_BACKUP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace rocksdb {
class DB;
}  // namespace rocksdb

namespace throughline::eventstore {

struct BackupInfo {
  uint32_t id = 0;  // 1, 2, ... within one backup directory.
  int64_t created_unix_seconds = 0;
  uint64_t size_bytes = 0;  // All files of this backup, shared or not.
  uint32_t file_count = 0;
  std::string metadata;  // As given to BackupRocksDb.
};

struct BackupOutcome {
  BackupInfo info;
  // What this backup had to copy; the rest of its files were already in
  // the backup directory from earlier backups.
  uint32_t new_files = 0;
  uint64_t new_bytes = 0;
};

// Backs up the open database `db` into `backup_dir` (created if missing),
// tagging the backup with `metadata`. Safe while other threads write.
// Internal on an I/O error.
absl::StatusOr<BackupOutcome> BackupRocksDb(rocksdb::DB* db,
                                            const std::string& backup_dir,
                                            const std::string& metadata);

// Deletes all but the newest `keep` (at least 1) backups of `backup_dir`,
// and the files only they used.
absl::Status PurgeRocksDbBackups(const std::string& backup_dir, uint32_t keep);

// The valid backups in `backup_dir`, oldest first. NotFound if it holds
// none.
absl::StatusOr<std::vector<BackupInfo>> ListRocksDbBackups(
    const std::string& backup_dir);

// Restores backup `id` of `backup_dir` into `target_dir`, which must not
// exist or be empty (FailedPrecondition otherwise). Verifies every file's
// checksum while copying (DataLoss on a mismatch). NotFound for an unknown
// id.
absl::Status RestoreRocksDb(const std::string& backup_dir, uint32_t id,
                            const std::string& target_dir);

}  // namespace throughline::eventstore

#endif  // THROUGHLINE_EVENTSTORE_ROCKSDB_BACKUP_H_
