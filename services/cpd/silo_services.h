// The CPD silo services: one gRPC service per silo, each RPC checking its
// request against the trust's current state and recording the resulting
// event through the CommandRunner. The rules of each RPC are documented in
// proto/throughline/cpd/v1/<silo>.proto and docs/events.md.

#ifndef THROUGHLINE_SERVICES_CPD_SILO_SERVICES_H_
#define THROUGHLINE_SERVICES_CPD_SILO_SERVICES_H_

#include "services/cpd/command_runner.h"
#include "throughline/cpd/v1/appraisal.grpc.pb.h"
#include "throughline/cpd/v1/coaching.grpc.pb.h"
#include "throughline/cpd/v1/observation.grpc.pb.h"
#include "throughline/cpd/v1/organisation.grpc.pb.h"
#include "throughline/cpd/v1/planning.grpc.pb.h"
#include "throughline/cpd/v1/programme.grpc.pb.h"
#include "throughline/cpd/v1/staff.grpc.pb.h"

namespace throughline::services::cpd {

class OrganisationService final : public v1::OrganisationService::Service {
 public:
  // `runner` must outlive the service.
  explicit OrganisationService(CommandRunner* runner) : runner_(runner) {}

  grpc::Status RegisterTrust(grpc::ServerContext* context,
                             const v1::RegisterTrustRequest* request,
                             v1::RecordResponse* response) override;
  grpc::Status AddSchool(grpc::ServerContext* context,
                         const v1::AddSchoolRequest* request,
                         v1::RecordResponse* response) override;
  grpc::Status AddDepartment(grpc::ServerContext* context,
                             const v1::AddDepartmentRequest* request,
                             v1::RecordResponse* response) override;
  grpc::Status AddDevelopmentArea(grpc::ServerContext* context,
                                  const v1::AddDevelopmentAreaRequest* request,
                                  v1::RecordResponse* response) override;
  grpc::Status RelabelDevelopmentArea(
      grpc::ServerContext* context,
      const v1::RelabelDevelopmentAreaRequest* request,
      v1::RecordResponse* response) override;
  grpc::Status RetireDevelopmentArea(
      grpc::ServerContext* context,
      const v1::RetireDevelopmentAreaRequest* request,
      v1::RecordResponse* response) override;
  grpc::Status ListDevelopmentAreas(
      grpc::ServerContext* context,
      const v1::ListDevelopmentAreasRequest* request,
      v1::ListDevelopmentAreasResponse* response) override;

 private:
  CommandRunner* const runner_;
};

class StaffDirectoryService final : public v1::StaffDirectoryService::Service {
 public:
  // `runner` must outlive the service.
  explicit StaffDirectoryService(CommandRunner* runner) : runner_(runner) {}

  grpc::Status RecordStaffJoined(grpc::ServerContext* context,
                                 const v1::RecordStaffJoinedRequest* request,
                                 v1::RecordResponse* response) override;
  grpc::Status RecordStaffMoved(grpc::ServerContext* context,
                                const v1::RecordStaffMovedRequest* request,
                                v1::RecordResponse* response) override;
  grpc::Status RecordStaffLeft(grpc::ServerContext* context,
                               const v1::RecordStaffLeftRequest* request,
                               v1::RecordResponse* response) override;

 private:
  CommandRunner* const runner_;
};

class ObservationService final : public v1::ObservationService::Service {
 public:
  // `runner` must outlive the service.
  explicit ObservationService(CommandRunner* runner) : runner_(runner) {}

  grpc::Status RecordObservation(grpc::ServerContext* context,
                                 const v1::RecordObservationRequest* request,
                                 v1::RecordResponse* response) override;
  grpc::Status RecordLearningWalk(grpc::ServerContext* context,
                                  const v1::RecordLearningWalkRequest* request,
                                  v1::RecordResponse* response) override;

 private:
  CommandRunner* const runner_;
};

class CoachingService final : public v1::CoachingService::Service {
 public:
  // `runner` must outlive the service.
  explicit CoachingService(CommandRunner* runner) : runner_(runner) {}

  grpc::Status RecordCoachingConversation(
      grpc::ServerContext* context,
      const v1::RecordCoachingConversationRequest* request,
      v1::RecordResponse* response) override;

 private:
  CommandRunner* const runner_;
};

class AppraisalService final : public v1::AppraisalService::Service {
 public:
  // `runner` must outlive the service.
  explicit AppraisalService(CommandRunner* runner) : runner_(runner) {}

  grpc::Status SetAppraisalGoal(grpc::ServerContext* context,
                                const v1::SetAppraisalGoalRequest* request,
                                v1::RecordResponse* response) override;
  grpc::Status ReviewAppraisalGoal(
      grpc::ServerContext* context,
      const v1::ReviewAppraisalGoalRequest* request,
      v1::RecordResponse* response) override;

 private:
  CommandRunner* const runner_;
};

class CpdProgrammeService final : public v1::CpdProgrammeService::Service {
 public:
  // `runner` must outlive the service.
  explicit CpdProgrammeService(CommandRunner* runner) : runner_(runner) {}

  grpc::Status LaunchProgramme(grpc::ServerContext* context,
                               const v1::LaunchProgrammeRequest* request,
                               v1::RecordResponse* response) override;
  grpc::Status PlanSession(grpc::ServerContext* context,
                           const v1::PlanSessionRequest* request,
                           v1::RecordResponse* response) override;
  grpc::Status RecordSessionHeld(grpc::ServerContext* context,
                                 const v1::RecordSessionHeldRequest* request,
                                 v1::RecordResponse* response) override;
  grpc::Status EvidenceFollowUp(grpc::ServerContext* context,
                                const v1::EvidenceFollowUpRequest* request,
                                v1::RecordResponse* response) override;
  grpc::Status ShareEnquiryFindings(
      grpc::ServerContext* context,
      const v1::ShareEnquiryFindingsRequest* request,
      v1::RecordResponse* response) override;

 private:
  CommandRunner* const runner_;
};

class PlanningService final : public v1::PlanningService::Service {
 public:
  // `runner` must outlive the service.
  explicit PlanningService(CommandRunner* runner) : runner_(runner) {}

  grpc::Status AdoptImprovementPriority(
      grpc::ServerContext* context,
      const v1::AdoptImprovementPriorityRequest* request,
      v1::RecordResponse* response) override;
  grpc::Status CloseImprovementPriority(
      grpc::ServerContext* context,
      const v1::CloseImprovementPriorityRequest* request,
      v1::RecordResponse* response) override;
  grpc::Status AllocateCpdTime(grpc::ServerContext* context,
                               const v1::AllocateCpdTimeRequest* request,
                               v1::RecordResponse* response) override;
  grpc::Status RecordMeetingTimeRepurposed(
      grpc::ServerContext* context,
      const v1::RecordMeetingTimeRepurposedRequest* request,
      v1::RecordResponse* response) override;
  grpc::Status SetCpdBudget(grpc::ServerContext* context,
                            const v1::SetCpdBudgetRequest* request,
                            v1::RecordResponse* response) override;
  grpc::Status RecordCpdSpend(grpc::ServerContext* context,
                              const v1::RecordCpdSpendRequest* request,
                              v1::RecordResponse* response) override;
  grpc::Status IdentifyTrainingNeed(
      grpc::ServerContext* context,
      const v1::IdentifyTrainingNeedRequest* request,
      v1::RecordResponse* response) override;
  grpc::Status RecordCpdDecision(grpc::ServerContext* context,
                                 const v1::RecordCpdDecisionRequest* request,
                                 v1::RecordResponse* response) override;
  grpc::Status RecordImpactEvaluation(
      grpc::ServerContext* context,
      const v1::RecordImpactEvaluationRequest* request,
      v1::RecordResponse* response) override;

 private:
  CommandRunner* const runner_;
};

}  // namespace throughline::services::cpd

#endif  // THROUGHLINE_SERVICES_CPD_SILO_SERVICES_H_
