// The PrivacyService gRPC service (proto/throughline/privacy/v1/
// privacy.proto): erasure, subject access export and retention over
// PersonalData, recording each erasure and schedule change as an event in
// the trust's "privacy" stream so that they are audited.
//
// Erasures and retention runs are serialized with each other (one at a
// time per server); they are rare and each ends with a flush and a
// compaction.

#ifndef THROUGHLINE_SERVICES_PRIVACY_PRIVACY_SERVICE_H_
#define THROUGHLINE_SERVICES_PRIVACY_PRIVACY_SERVICE_H_

#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "eventstore/event_store.h"
#include "services/auth/auth_store.h"
#include "services/auth/gate.h"
#include "services/cpd/command_runner.h"
#include "services/privacy/bus_disclosure.h"
#include "services/privacy/personal_data.h"
#include "services/tenant.h"
#include "throughline/privacy/v1/privacy.grpc.pb.h"

namespace throughline::services::privacy {

namespace pv1 = ::throughline::privacy::v1;

// The stream of privacy events in each trust.
inline constexpr char kPrivacyStream[] = "privacy";

class PrivacyService final : public pv1::PrivacyService::Service {
 public:
  // Every argument must outlive the service.
  PrivacyService(eventstore::EventStore* store,
                 services::cpd::CommandRunner* runner,
                 PersonalData* personal_data, auth::AuthStore* access_log,
                 BusDisclosure* bus_disclosure);
  ~PrivacyService() override;  // Calls StopSchedule.

  // Refuses the calls of tenants this server does not serve (cluster
  // placement), and keeps the retention schedule to the tenants it serves;
  // nullptr (the default) serves every tenant. Set before serving; `gate`
  // must outlive the service.
  void set_tenant_gate(const TenantGate* gate) { gate_ = gate; }

  grpc::Status EraseSubject(grpc::ServerContext* context,
                            const pv1::EraseSubjectRequest* request,
                            pv1::EraseSubjectResponse* response) override;
  grpc::Status ExportSubject(grpc::ServerContext* context,
                             const pv1::ExportSubjectRequest* request,
                             pv1::ExportSubjectResponse* response) override;
  grpc::Status SetRetentionSchedule(
      grpc::ServerContext* context,
      const pv1::SetRetentionScheduleRequest* request,
      pv1::RetentionSchedule* response) override;
  grpc::Status GetRetentionSchedule(
      grpc::ServerContext* context,
      const pv1::GetRetentionScheduleRequest* request,
      pv1::RetentionSchedule* response) override;
  grpc::Status RunRetention(grpc::ServerContext* context,
                            const pv1::RunRetentionRequest* request,
                            pv1::RunRetentionResponse* response) override;
  grpc::Status SetBusDisclosure(grpc::ServerContext* context,
                                const pv1::SetBusDisclosureRequest* request,
                                pv1::BusDisclosure* response) override;
  grpc::Status GetBusDisclosure(grpc::ServerContext* context,
                                const pv1::GetBusDisclosureRequest* request,
                                pv1::BusDisclosure* response) override;

  // The retention job for one trust as of `now`; the events it appends get
  // ids derived from `request_id`. Each erasure is entered in the access
  // log as done by `caller` (the retention schedule when null).
  absl::StatusOr<pv1::RunRetentionResponse> RunRetentionFor(
      const std::string& tenant, const std::string& request_id, absl::Time now,
      const auth::Caller* caller = nullptr);

  // Runs the retention job for every trust every `interval`, on a thread of
  // its own, until StopSchedule. Failures are reported on stderr and
  // retried at the next run.
  void StartSchedule(absl::Duration interval);
  void StopSchedule();

 private:
  absl::StatusOr<pv1::RetentionSchedule> Schedule(const std::string& tenant);
  // Appends one privacy event under the id of (request_id, index).
  absl::StatusOr<uint64_t> AppendPrivacyEvent(
      const std::string& tenant, const std::string& request_id, size_t index,
      const google::protobuf::Message& event);
  // Enters in the access log that `caller` (the retention schedule when
  // null) exported or erased `staff_id`'s data; `detail` says what.
  absl::Status RecordAccess(const std::string& tenant,
                            const auth::Caller* caller,
                            const std::string& staff_id,
                            const std::string& method,
                            const std::string& detail);

  eventstore::EventStore* const store_;
  services::cpd::CommandRunner* const runner_;
  auth::AuthStore* const access_log_;
  BusDisclosure* const bus_disclosure_;
  PersonalData* const personal_data_;
  const TenantGate* gate_ = nullptr;
  absl::Mutex erase_mu_;  // Serializes erasures and retention runs.
  absl::Notification stop_;
  std::thread scheduler_;
};

}  // namespace throughline::services::privacy

#endif  // THROUGHLINE_SERVICES_PRIVACY_PRIVACY_SERVICE_H_
