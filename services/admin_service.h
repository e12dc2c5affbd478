// throughline.admin.v1.Admin: backups of the running server
// (proto/throughline/admin/v1/admin.proto).

#ifndef THROUGHLINE_SERVICES_ADMIN_SERVICE_H_
#define THROUGHLINE_SERVICES_ADMIN_SERVICE_H_

#include <functional>

#include "absl/status/statusor.h"
#include "services/backup.h"
#include "throughline/admin/v1/admin.grpc.pb.h"

namespace throughline::services {

class AdminService final : public ::throughline::admin::v1::Admin::Service {
 public:
  // `take_backup` takes one backup (and records it in metrics and logs);
  // `backup_dir` is empty when the server has none. Both must outlive the
  // service.
  AdminService(std::function<absl::StatusOr<BackupSetOutcome>()> take_backup,
               std::string backup_dir);

  grpc::Status CreateBackup(
      grpc::ServerContext* context,
      const ::throughline::admin::v1::CreateBackupRequest* request,
      ::throughline::admin::v1::Backup* response) override;
  grpc::Status ListBackups(
      grpc::ServerContext* context,
      const ::throughline::admin::v1::ListBackupsRequest* request,
      ::throughline::admin::v1::ListBackupsResponse* response) override;

 private:
  const std::function<absl::StatusOr<BackupSetOutcome>()> take_backup_;
  const std::string backup_dir_;
};

}  // namespace throughline::services

#endif  // THROUGHLINE_SERVICES_ADMIN_SERVICE_H_
