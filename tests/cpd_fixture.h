// A real gRPC server on loopback over a real event store in a temporary
// directory, serving the CPD silo services a test asks for, with helpers to
// seed a registered trust.

#ifndef THROUGHLINE_TESTS_CPD_FIXTURE_H_
#define THROUGHLINE_TESTS_CPD_FIXTURE_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "eventstore/event_store.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/auth/auth_store.h"
#include "services/auth/gate.h"
#include "services/cpd/command_runner.h"
#include "services/cpd/silo_services.h"
#include "tests/auth_support.h"
#include "tests/test_support.h"

namespace throughline::testing {

namespace cpd = ::throughline::cpd::v1;

class CpdFixture : public ::testing::Test {
 protected:
  // The trust every helper below writes to.
  static constexpr char kTrust[] = "northfield";
  // When the seeded trust was registered: 2025-09-01T00:00:00Z.
  static absl::Time RegisteredAt();

  void SetUp() override;
  void TearDown() override;

  // Override to serve more services; the organisation and staff directory
  // services are always served.
  virtual void AddServices(services::cpd::CommandRunner* runner,
                           std::vector<std::unique_ptr<grpc::Service>>* out) {}

  // A context with the credential of `tenant`'s admin and a 30 s deadline.
  std::unique_ptr<grpc::ClientContext> Context(
      const std::string& tenant = kTrust) const;
  // A bearer token of `role` in `tenant` (tests/auth_support.h
  // PrincipalFor), minted once per fixture.
  std::string Token(const std::string& tenant = kTrust,
                    authv1::Role role = authv1::ROLE_ADMIN) const;
  services::auth::AuthStore* auth_store() const { return auth_store_.get(); }

  // Registers kTrust at RegisteredAt(), with schools "north" and "south",
  // departments "north-maths", "north-english" (north) and "south-maths"
  // (south), and staff "t1".."t6" who joined at RegisteredAt(): t1-t4 in
  // north (t1, t2 in north-maths; t3 in north-english; t4 in none), t5, t6 in
  // south-maths.
  void SeedTrust();

  // Records a staff member joining `school_id` at `at`.
  void Join(const std::string& staff_id, const std::string& school_id,
            const std::vector<std::string>& departments, absl::Time at);
  // Records a staff member leaving at `at`.
  void Leave(const std::string& staff_id, absl::Time at);

  // Retires a development area of kTrust.
  void RetireArea(const std::string& code);

  // Expects `status` to be `code` with a message and FieldViolation naming
  // `field`, and the log head still at `head_before` (nothing appended).
  void ExpectRefused(const grpc::Status& status, grpc::StatusCode code,
                     const std::string& field, uint64_t head_before);

  // Calls `record` twice with one request: the first call appends exactly
  // one event at the head; the retry appends nothing and returns the same
  // event id and position with already_applied set.
  void ExpectRecordedOnceThenRetried(
      const std::function<grpc::Status(cpd::RecordResponse*)>& record);

  // The log head of `tenant`.
  uint64_t Head(const std::string& tenant = kTrust) const;

  // A fresh request id.
  static std::string NewRequestId();

  // The CPD events of one stream of kTrust, read through the EventStore API.
  std::vector<cpd::CpdEvent> StreamEvents(const std::string& stream) const;

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  // The store, and the sealing of personal data the runner uses (set
  // before AddServices is called).
  eventstore::EventStore* store() const { return store_.get(); }
  services::privacy::PersonalData* personal_data() const {
    return personal_data_.get();
  }
  std::unique_ptr<cpd::OrganisationService::Stub> organisation_;
  std::unique_ptr<cpd::StaffDirectoryService::Stub> staff_;

 private:
  TempDir dir_;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<services::privacy::PersonalData> personal_data_;
  std::unique_ptr<services::auth::AuthStore> auth_store_;
  std::unique_ptr<services::auth::Gate> gate_;
  mutable absl::Mutex tokens_mu_;
  mutable std::map<std::string, std::string> tokens_;
  std::unique_ptr<services::cpd::CommandRunner> runner_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Service> event_store_service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

// Sets `timestamp` to `t`.
void SetTime(absl::Time t, google::protobuf::Timestamp* timestamp);

// The FieldViolation.field of an error, or "" if none.
std::string ViolatedField(const grpc::Status& status);

}  // namespace throughline::testing

#endif  // THROUGHLINE_TESTS_CPD_FIXTURE_H_
