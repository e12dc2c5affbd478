#include "services/admin_service.h"

#include <utility>

#include "services/auth/gate.h"
#include "services/grpc_status.h"

namespace throughline::services {
namespace {

namespace admin_v1 = ::throughline::admin::v1;

constexpr char kNoBackupDir[] =
    "backup_dir: the server has no backup directory configured; set "
    "backup_dir to enable backups";

void ToProto(const BackupSetOutcome& set, admin_v1::Backup* backup) {
  backup->set_backup_id(set.backup_id);
  backup->mutable_create_time()->set_seconds(set.created_unix_seconds);
  for (const StoreBackupOutcome& store : set.stores) {
    admin_v1::StoreBackup* out = backup->add_stores();
    out->set_store(store.store);
    out->set_store_backup_id(store.outcome.info.id);
    out->set_size_bytes(store.outcome.info.size_bytes);
    out->set_file_count(store.outcome.info.file_count);
    out->set_new_bytes(store.outcome.new_bytes);
    out->set_new_file_count(store.outcome.new_files);
  }
}

}  // namespace

AdminService::AdminService(
    std::function<absl::StatusOr<BackupSetOutcome>()> take_backup,
    std::string backup_dir)
    : take_backup_(std::move(take_backup)),
      backup_dir_(std::move(backup_dir)) {}

grpc::Status AdminService::CreateBackup(
    grpc::ServerContext* context, const admin_v1::CreateBackupRequest* request,
    admin_v1::Backup* response) {
  // A backup holds every trust's data: the installation's operators only.
  if (absl::StatusOr<auth::Caller> caller = auth::Admit(*context);
      !caller.ok()) {
    return ToGrpcStatus(caller.status());
  }
  if (backup_dir_.empty()) {
    return ToGrpcStatus(absl::FailedPreconditionError(kNoBackupDir));
  }
  absl::StatusOr<BackupSetOutcome> outcome = take_backup_();
  if (!outcome.ok()) return ToGrpcStatus(outcome.status());
  ToProto(*outcome, response);
  return grpc::Status::OK;
}

grpc::Status AdminService::ListBackups(
    grpc::ServerContext* context, const admin_v1::ListBackupsRequest* request,
    admin_v1::ListBackupsResponse* response) {
  if (absl::StatusOr<auth::Caller> caller = auth::Admit(*context);
      !caller.ok()) {
    return ToGrpcStatus(caller.status());
  }
  if (backup_dir_.empty()) {
    return ToGrpcStatus(absl::FailedPreconditionError(kNoBackupDir));
  }
  absl::StatusOr<std::vector<BackupSetOutcome>> backups =
      services::ListBackups(backup_dir_);
  if (absl::IsNotFound(backups.status())) return grpc::Status::OK;
  if (!backups.ok()) return ToGrpcStatus(backups.status());
  for (const BackupSetOutcome& set : *backups) {
    ToProto(set, response->add_backups());
  }
  return grpc::Status::OK;
}

}  // namespace throughline::services
