// Backups of a data directory: which stores it holds, online backups of the
// durable ones from a running server, and offline restores into a new data
// directory.
//
// Layout of a backup directory: one RocksDB BackupEngine directory per
// durable store, backup_dir/<store name>/ (see eventstore/rocksdb_backup.h).
// A backup's id is the event store's backup id; the other durable stores'
// backups of the same run carry "backup_id=<id>" as their metadata.

#ifndef THROUGHLINE_SERVICES_BACKUP_H_
#define THROUGHLINE_SERVICES_BACKUP_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "eventstore/rocksdb_backup.h"

namespace throughline::services {

// One store in a data directory.
struct DataStore {
  const char* name;    // Also its directory name inside a backup.
  const char* subdir;  // Inside data_dir; "" is data_dir itself.
  // Durable stores are backed up; derived ones are rebuilt after a restore.
  bool durable;
  const char* after_restore;  // What happens to it after a restore.
};

// Every store a data directory may hold — the one list backup, restore and
// docs/operations.md follow. A new durable store is added here and given a
// backup function in BackupSet.
const std::vector<DataStore>& DataStores();

struct StoreBackupOutcome {
  std::string store;
  eventstore::BackupOutcome outcome;
};

struct BackupSetOutcome {
  uint32_t backup_id = 0;
  int64_t created_unix_seconds = 0;
  std::vector<StoreBackupOutcome> stores;
};

// Takes backups of a running server's durable stores into one backup
// directory. Thread-safe; one backup runs at a time.
class BackupSet {
 public:
  // Backs one store up into `dir` with `metadata`.
  using BackupFn = std::function<absl::StatusOr<eventstore::BackupOutcome>(
      const std::string& dir, const std::string& metadata)>;

  // `stores` maps each durable store of DataStores() by name to its backup
  // function; `keep` > 0 deletes all but the newest `keep` backups after
  // each backup.
  BackupSet(std::string backup_dir,
            std::vector<std::pair<std::string, BackupFn>> stores,
            uint32_t keep);

  // One backup of every store. Aborted if a backup is already running.
  absl::StatusOr<BackupSetOutcome> Take();

  const std::string& backup_dir() const { return backup_dir_; }

 private:
  const std::string backup_dir_;
  const std::vector<std::pair<std::string, BackupFn>> stores_;
  const uint32_t keep_;
  absl::Mutex mu_;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
};

// The backups in `backup_dir` (read offline or online), oldest first, each
// with the stores it holds (new_* fields are 0). NotFound if there is none.
absl::StatusOr<std::vector<BackupSetOutcome>> ListBackups(
    const std::string& backup_dir);

// Restores backup `backup_id` (the newest when nullopt) of `backup_dir` into
// `target_data_dir`, which must not exist or be empty (FailedPrecondition),
// with the server stopped. Derived stores are not restored: a server started
// on the directory rebuilds them. Returns the id restored.
absl::StatusOr<uint32_t> RestoreBackup(const std::string& backup_dir,
                                       std::optional<uint32_t> backup_id,
                                       const std::string& target_data_dir);

}  // namespace throughline::services

#endif  // THROUGHLINE_SERVICES_BACKUP_H_
