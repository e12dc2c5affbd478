#include "services/auth/policy.h"

#include "absl/strings/str_cat.h"

namespace throughline::services::auth {
namespace {

constexpr uint32_t Bit(v1::Role role) { return 1u << role; }

constexpr uint32_t kOperator = Bit(v1::ROLE_OPERATOR);
constexpr uint32_t kAdmin = Bit(v1::ROLE_ADMIN);
constexpr uint32_t kTrustLeader = Bit(v1::ROLE_TRUST_LEADER);
constexpr uint32_t kSchoolLeader = Bit(v1::ROLE_SCHOOL_LEADER);
constexpr uint32_t kStaffMember = Bit(v1::ROLE_STAFF_MEMBER);
constexpr uint32_t kAuditor = Bit(v1::ROLE_AUDITOR);
constexpr uint32_t kInternal = Bit(v1::ROLE_INTERNAL);
constexpr uint32_t kEveryTrustRole = kAdmin | Bit(v1::ROLE_PLATFORM_WRITER) |
                                     kTrustLeader | kSchoolLeader |
                                     kStaffMember | kAuditor | kInternal;
constexpr uint32_t kViewers = kAdmin | kTrustLeader | kSchoolLeader;
constexpr uint32_t kRawReaders = kAdmin | kAuditor | kTrustLeader;

absl::flat_hash_map<std::string, Rule> BuildRules() {
  absl::flat_hash_map<std::string, Rule> rules;
  auto add = [&](absl::string_view service,
                 std::initializer_list<absl::string_view> methods, Rule rule) {
    for (absl::string_view method : methods) {
      rules[absl::StrCat("/", service, "/", method)] = rule;
    }
  };
  const Rule kPublic{true, 0, v1::SILO_UNSPECIFIED};

  // Served by gRPC itself; no trust data.
  add("grpc.health.v1.Health", {"Check", "Watch"}, kPublic);
  add("grpc.reflection.v1alpha.ServerReflection", {"ServerReflectionInfo"},
      kPublic);

  // The generic log. Append bypasses the silos' rules: admins only.
  add("throughline.eventstore.v1.EventStore", {"Append"}, {false, kAdmin});
  add("throughline.eventstore.v1.EventStore",
      {"ReadStream", "ReadAll", "Subscribe", "GetStream", "GetLogInfo",
       "Verify"},
      {false, kRawReaders});

  // The CPD silos: admins, the internal bus ingest, and platform writers of
  // the silo.
  const uint32_t kWriters = kAdmin | kInternal;
  add("throughline.cpd.v1.OrganisationService",
      {"RegisterTrust", "AddSchool", "AddDepartment", "AddDevelopmentArea",
       "RelabelDevelopmentArea", "RetireDevelopmentArea"},
      {false, kWriters, v1::SILO_ORGANISATION});
  add("throughline.cpd.v1.OrganisationService", {"ListDevelopmentAreas"},
      {false, kEveryTrustRole});
  add("throughline.cpd.v1.StaffDirectoryService",
      {"RecordStaffJoined", "RecordStaffMoved", "RecordStaffLeft"},
      {false, kWriters, v1::SILO_STAFF});
  add("throughline.cpd.v1.ObservationService",
      {"RecordObservation", "RecordLearningWalk"},
      {false, kWriters, v1::SILO_OBSERVATION});
  add("throughline.cpd.v1.CoachingService", {"RecordCoachingConversation"},
      {false, kWriters, v1::SILO_COACHING});
  add("throughline.cpd.v1.AppraisalService",
      {"SetAppraisalGoal", "ReviewAppraisalGoal"},
      {false, kWriters, v1::SILO_APPRAISAL});
  add("throughline.cpd.v1.CpdProgrammeService",
      {"LaunchProgramme", "PlanSession", "RecordSessionHeld",
       "EvidenceFollowUp", "ShareEnquiryFindings"},
      {false, kWriters, v1::SILO_PROGRAMME});
  add("throughline.cpd.v1.PlanningService",
      {"AdoptImprovementPriority", "CloseImprovementPriority",
       "AllocateCpdTime", "RecordMeetingTimeRepurposed", "SetCpdBudget",
       "RecordCpdSpend", "IdentifyTrainingNeed", "RecordCpdDecision",
       "RecordImpactEvaluation"},
      {false, kWriters, v1::SILO_PLANNING});

  // The views. School leaders are held to their schools by the handler.
  add("throughline.insights.v1.Insights",
      {"GetEmergentNeeds", "WatchEmergentNeeds", "GetFollowThrough",
       "GetConnectingTheDots", "GetTimeAndMoney", "GetImpact",
       "GetProgrammeDesign"},
      {false, kViewers});
  add("throughline.insights.v1.Insights", {"GetDecisionAudit"},
      {false, kViewers | kAuditor});
  add("throughline.insights.v1.Insights", {"GetStaffRecord"},
      {false, kViewers | kStaffMember});
  add("throughline.insights.v1.Insights", {"GetProjectionStatus"},
      {false, kViewers | kAuditor});
  add("throughline.insights.v1.Insights", {"RebuildViews"}, {false, kAdmin});

  // Personal data rights (docs/audit-and-privacy.md): the trust's admins,
  // who act for its data protection officer; auditors see the schedule.
  add("throughline.privacy.v1.PrivacyService",
      {"EraseSubject", "ExportSubject", "SetRetentionSchedule", "RunRetention",
       "SetBusDisclosure"},
      {false, kAdmin});
  add("throughline.privacy.v1.PrivacyService",
      {"GetRetentionSchedule", "GetBusDisclosure"}, {false, kAdmin | kAuditor});

  add("throughline.bus.v1.BusService", {"GetBusStatus"}, {false, kOperator});
  add("throughline.cluster.v1.ClusterService",
      {"GetTrustOwner", "RestoreTrust", "MoveTrust"}, {false, kOperator});
  // Backups hold every trust's data.
  add("throughline.admin.v1.Admin", {"CreateBackup", "ListBackups"},
      {false, kOperator});

  add("throughline.auth.v1.AuthService",
      {"CreateToken", "ListTokens", "RevokeToken"},
      {false, kOperator | kAdmin});
  add("throughline.auth.v1.AuthService", {"WhoAmI"},
      {false, kOperator | kEveryTrustRole});
  add("throughline.auth.v1.AccessLogService", {"ListAccess"},
      {false, kAdmin | kAuditor | kStaffMember});
  return rules;
}

}  // namespace

const absl::flat_hash_map<std::string, Rule>& Rules() {
  static const auto* rules =
      new absl::flat_hash_map<std::string, Rule>(BuildRules());
  return *rules;
}

bool IsPublic(absl::string_view method) {
  auto it = Rules().find(method);
  return it != Rules().end() && it->second.is_public;
}

absl::Status Permit(const v1::Principal& principal, absl::string_view method) {
  auto it = Rules().find(method);
  if (it != Rules().end()) {
    const Rule& rule = it->second;
    if (rule.is_public) return absl::OkStatus();
    if (principal.role() > v1::ROLE_UNSPECIFIED && principal.role() < 32 &&
        (rule.roles & Bit(principal.role())) != 0) {
      return absl::OkStatus();
    }
    if (principal.role() == v1::ROLE_PLATFORM_WRITER &&
        rule.silo != v1::SILO_UNSPECIFIED) {
      for (int silo : principal.silos()) {
        if (silo == rule.silo) return absl::OkStatus();
      }
    }
  }
  return absl::PermissionDeniedError(
      absl::StrCat("this credential may not call ", method));
}

}  // namespace throughline::services::auth
