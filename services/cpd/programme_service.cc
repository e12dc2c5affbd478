// CpdProgrammeService: programmes, their sessions, follow-up evidence and
// enquiry findings. Each record is its own consistency boundary, so each
// event goes to the stream of the record it creates or changes:
//  * ProgrammeLaunched and EnquiryFindingsShared: "programme-<programme_id>"
//    (a programme's launch and what it later found are one history);
//  * SessionPlanned and SessionHeld: "session-<session_id>" (a session is
//    planned at most once and held at most once; sharing the stream lets
//    the expected revision guard that order);
//  * FollowUpEvidenced: "followup-<follow_up_id>" (one piece of evidence).
// Checks that read other records (staff, programmes, a session's
// attendees) are strict because the CommandRunner serializes a trust's
// commands.

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "eventstore/errors.h"
#include "services/cpd/checks.h"
#include "services/cpd/silo_services.h"

namespace throughline::services::cpd {
namespace {

using eventstore::FieldError;
using eventstore::InvalidField;

constexpr char kProgrammeCategory[] = "programme";
constexpr char kSessionCategory[] = "session";
constexpr char kFollowUpCategory[] = "followup";

// The longest follow-up period a programme may set.
constexpr uint32_t kMaxFollowUpDays = 366;

absl::Status Taken(absl::string_view field, absl::string_view what) {
  return FieldError(absl::StatusCode::kAlreadyExists, field, what);
}

absl::Status Conflict(absl::string_view field, absl::string_view what) {
  return FieldError(absl::StatusCode::kFailedPrecondition, field, what);
}

// `t` as a Timestamp. REQUIRES: `t` is after the Unix epoch.
void SetTimestamp(absl::Time t, google::protobuf::Timestamp* timestamp) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  timestamp->set_seconds(seconds);
  timestamp->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

// An optional programme reference: empty, or a programme of the trust.
absl::Status CheckOptionalProgramme(const TrustState& state,
                                    const std::string& id,
                                    absl::string_view field) {
  if (id.empty()) return absl::OkStatus();
  THROUGHLINE_RETURN_IF_ERROR(CheckId(id, field));
  if (state.FindProgramme(id) == nullptr) {
    return Conflict(field, absl::StrCat("unknown programme \"", id, "\""));
  }
  return absl::OkStatus();
}

// The attendees of a held session: at least one, no repeats, each a member
// of the trust at `at`.
absl::Status CheckAttendees(
    const TrustState& state,
    const google::protobuf::RepeatedPtrField<std::string>& attendees,
    absl::Time at, absl::string_view field) {
  if (attendees.empty()) {
    return InvalidField(field, "needs at least one attendee");
  }
  THROUGHLINE_RETURN_IF_ERROR(CheckListLength(attendees.size(), field));
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < attendees.size(); ++i) {
    const std::string indexed = absl::StrCat(field, "[", i, "]");
    if (!seen.insert(attendees[i]).second) {
      return InvalidField(indexed, absl::StrCat("staff member \"", attendees[i],
                                                "\" is listed twice"));
    }
    THROUGHLINE_RETURN_IF_ERROR(
        CheckStaffActive(state, attendees[i], at, indexed));
  }
  return absl::OkStatus();
}

// What a follow-up follows up belongs to `staff_id` (and, for a session,
// was held no later than `at`).
absl::Status CheckTarget(const TrustState& state, const std::string& staff_id,
                         const v1::FollowUpTarget& target, absl::Time at) {
  switch (target.target_case()) {
    case v1::FollowUpTarget::kSessionId: {
      constexpr char kField[] = "follow_up.target.session_id";
      const std::string& id = target.session_id();
      THROUGHLINE_RETURN_IF_ERROR(CheckId(id, kField));
      const projections::Session* session = state.FindSession(id);
      if (session == nullptr) {
        return Conflict(kField, absl::StrCat("unknown session \"", id, "\""));
      }
      if (!session->held) {
        return Conflict(kField,
                        absl::StrCat("session \"", id, "\" has not been held"));
      }
      if (!session->attendees.contains(staff_id)) {
        return Conflict(kField,
                        absl::StrCat("staff member \"", staff_id,
                                     "\" did not attend session \"", id, "\""));
      }
      if (at < session->held_at) {
        return Conflict("occurred_at",
                        absl::StrCat("evidence dated before session \"", id,
                                     "\" was held (",
                                     absl::FormatTime(session->held_at), ")"));
      }
      return absl::OkStatus();
    }
    case v1::FollowUpTarget::kGoalId: {
      constexpr char kField[] = "follow_up.target.goal_id";
      const std::string& id = target.goal_id();
      THROUGHLINE_RETURN_IF_ERROR(CheckId(id, kField));
      const projections::Goal* goal = state.FindGoal(id);
      if (goal == nullptr) {
        return Conflict(kField, absl::StrCat("unknown goal \"", id, "\""));
      }
      if (goal->staff_id != staff_id) {
        return Conflict(kField, absl::StrCat("goal \"", id,
                                             "\" is not a goal of staff "
                                             "member \"",
                                             staff_id, "\""));
      }
      return absl::OkStatus();
    }
    case v1::FollowUpTarget::kObservationPoint: {
      constexpr char kField[] =
          "follow_up.target.observation_point.observation_id";
      constexpr char kAreaField[] = "follow_up.target.observation_point.area";
      const v1::ObservationPoint& point = target.observation_point();
      THROUGHLINE_RETURN_IF_ERROR(CheckId(point.observation_id(), kField));
      if (point.area().empty()) {
        return InvalidField(kAreaField, "must not be empty");
      }
      const projections::Observation* observation =
          state.FindObservation(point.observation_id());
      if (observation == nullptr) {
        return Conflict(kField, absl::StrCat("unknown observation \"",
                                             point.observation_id(), "\""));
      }
      if (observation->observed_staff_id != staff_id) {
        return Conflict(
            kField,
            absl::StrCat("observation \"", point.observation_id(),
                         "\" is not of staff member \"", staff_id, "\""));
      }
      bool found = false;
      for (const std::string& area : observation->development_points) {
        if (area == point.area()) found = true;
      }
      if (!found) {
        return Conflict(kAreaField,
                        absl::StrCat("\"", point.area(),
                                     "\" is not a development point of "
                                     "observation \"",
                                     point.observation_id(), "\""));
      }
      return absl::OkStatus();
    }
    case v1::FollowUpTarget::kCoachingConversationId: {
      constexpr char kField[] = "follow_up.target.coaching_conversation_id";
      const std::string& id = target.coaching_conversation_id();
      THROUGHLINE_RETURN_IF_ERROR(CheckId(id, kField));
      const std::string* coachee = state.CoachingCoachee(id);
      if (coachee == nullptr) {
        return Conflict(
            kField, absl::StrCat("unknown coaching conversation \"", id, "\""));
      }
      if (*coachee != staff_id) {
        return Conflict(kField, absl::StrCat("staff member \"", staff_id,
                                             "\" was not the coachee of "
                                             "coaching conversation \"",
                                             id, "\""));
      }
      return absl::OkStatus();
    }
    case v1::FollowUpTarget::TARGET_NOT_SET:
      break;
  }
  return InvalidField("follow_up.target",
                      "must name a session, goal, observation point or "
                      "coaching conversation");
}

Decision OneEvent(absl::string_view category, const std::string& id,
                  eventstore::ExpectedRevision expected, v1::CpdEvent event) {
  Decision decision;
  decision.stream = StreamFor(category, id);
  decision.expected = expected;
  decision.events.push_back(std::move(event));
  return decision;
}

}  // namespace

grpc::Status CpdProgrammeService::LaunchProgramme(
    grpc::ServerContext* context, const v1::LaunchProgrammeRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time at) -> absl::StatusOr<Decision> {
        const v1::ProgrammeLaunched& programme = request->programme();
        THROUGHLINE_RETURN_IF_ERROR(
            CheckId(programme.programme_id(), "programme.programme_id"));
        if (state.FindProgramme(programme.programme_id()) != nullptr) {
          return Taken("programme.programme_id",
                       absl::StrCat("programme \"", programme.programme_id(),
                                    "\" already exists"));
        }
        THROUGHLINE_RETURN_IF_ERROR(CheckText(programme.title(), kMaxNameLength,
                                              "programme.title",
                                              /*required=*/true));
        THROUGHLINE_RETURN_IF_ERROR(CheckAreas(state, programme.areas(),
                                               "programme.areas",
                                               /*required=*/true));
        THROUGHLINE_RETURN_IF_ERROR(CheckEnum(
            programme.kind(), v1::ProgrammeKind_IsValid(programme.kind()),
            "programme.kind"));
        THROUGHLINE_RETURN_IF_ERROR(CheckStaffActive(
            state, programme.owner_staff_id(), at, "programme.owner_staff_id"));
        if (programme.follow_up_days() > kMaxFollowUpDays) {
          return InvalidField(
              "programme.follow_up_days",
              absl::StrCat("must be at most ", kMaxFollowUpDays));
        }
        if (!programme.school_id().empty()) {
          THROUGHLINE_RETURN_IF_ERROR(
              CheckSchool(state, programme.school_id(), "programme.school_id"));
        }
        v1::CpdEvent event;
        *event.mutable_programme_launched() = programme;
        return OneEvent(kProgrammeCategory, programme.programme_id(),
                        eventstore::ExpectedRevision::NoStream(),
                        std::move(event));
      },
      response);
}

grpc::Status CpdProgrammeService::PlanSession(
    grpc::ServerContext* context, const v1::PlanSessionRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time at) -> absl::StatusOr<Decision> {
        const v1::SessionPlanned& session = request->session();
        THROUGHLINE_RETURN_IF_ERROR(
            CheckId(session.session_id(), "session.session_id"));
        if (const projections::Session* existing =
                state.FindSession(session.session_id());
            existing != nullptr) {
          return Taken("session.session_id",
                       absl::StrCat("session \"", session.session_id(),
                                    existing->held ? "\" was already held"
                                                   : "\" is already planned"));
        }
        THROUGHLINE_RETURN_IF_ERROR(CheckOptionalProgramme(
            state, session.programme_id(), "session.programme_id"));
        THROUGHLINE_RETURN_IF_ERROR(CheckText(session.title(), kMaxNameLength,
                                              "session.title",
                                              /*required=*/true));
        THROUGHLINE_RETURN_IF_ERROR(CheckAreas(state, session.areas(),
                                               "session.areas",
                                               /*required=*/true));
        THROUGHLINE_RETURN_IF_ERROR(
            CheckStaffActive(state, session.facilitator_staff_id(), at,
                             "session.facilitator_staff_id"));
        if (session.has_scheduled_for()) {
          absl::StatusOr<absl::Time> scheduled =
              CheckTimestamp(session.scheduled_for(), "session.scheduled_for");
          if (!scheduled.ok()) return scheduled.status();
        }
        THROUGHLINE_RETURN_IF_ERROR(
            CheckMechanisms(session.mechanisms(), "session.mechanisms"));
        v1::CpdEvent event;
        *event.mutable_session_planned() = session;
        return OneEvent(kSessionCategory, session.session_id(),
                        eventstore::ExpectedRevision::NoStream(),
                        std::move(event));
      },
      response);
}

grpc::Status CpdProgrammeService::RecordSessionHeld(
    grpc::ServerContext* context, const v1::RecordSessionHeldRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time at) -> absl::StatusOr<Decision> {
        v1::SessionHeld held = request->session();
        THROUGHLINE_RETURN_IF_ERROR(
            CheckId(held.session_id(), "session.session_id"));
        const projections::Session* planned =
            state.FindSession(held.session_id());
        if (planned != nullptr && planned->held) {
          return Taken("session.session_id",
                       absl::StrCat("session \"", held.session_id(),
                                    "\" was already held"));
        }
        if (planned != nullptr) {
          // A planned session keeps the plan's programme (or lack of one).
          if (!held.programme_id().empty() &&
              held.programme_id() != planned->programme_id) {
            return Conflict(
                "session.programme_id",
                planned->programme_id.empty()
                    ? absl::StrCat("session \"", held.session_id(),
                                   "\" was planned as a one-off session")
                    : absl::StrCat("session \"", held.session_id(),
                                   "\" was planned for programme \"",
                                   planned->programme_id, "\""));
          }
          held.set_programme_id(planned->programme_id);
        } else {
          THROUGHLINE_RETURN_IF_ERROR(CheckOptionalProgramme(
              state, held.programme_id(), "session.programme_id"));
        }
        THROUGHLINE_RETURN_IF_ERROR(CheckText(held.title(), kMaxNameLength,
                                              "session.title",
                                              /*required=*/true));
        THROUGHLINE_RETURN_IF_ERROR(CheckAreas(state, held.areas(),
                                               "session.areas",
                                               /*required=*/true));
        THROUGHLINE_RETURN_IF_ERROR(
            CheckStaffActive(state, held.facilitator_staff_id(), at,
                             "session.facilitator_staff_id"));
        if (held.minutes() < 1) {
          return InvalidField("session.minutes", "must be at least 1");
        }
        THROUGHLINE_RETURN_IF_ERROR(
            CheckAttendees(state, held.attendee_staff_ids(), at,
                           "session.attendee_staff_ids"));
        if (held.cost_pence() < 0) {
          return InvalidField("session.cost_pence", "must not be negative");
        }
        if (held.has_follow_up_due()) {
          absl::StatusOr<absl::Time> due =
              CheckTimestamp(held.follow_up_due(), "session.follow_up_due");
          if (!due.ok()) return due.status();
          if (*due < at) {
            return InvalidField("session.follow_up_due",
                                absl::StrCat("before the session was held (",
                                             absl::FormatTime(at), ")"));
          }
        } else if (!held.programme_id().empty()) {
          const projections::Programme* programme =
              state.FindProgramme(held.programme_id());
          if (programme != nullptr && programme->follow_up_days > 0) {
            SetTimestamp(at + absl::Hours(24) * static_cast<int64_t>(
                                                    programme->follow_up_days),
                         held.mutable_follow_up_due());
          }
        }
        THROUGHLINE_RETURN_IF_ERROR(
            CheckMechanisms(held.mechanisms(), "session.mechanisms"));
        const std::string session_id = held.session_id();
        v1::CpdEvent event;
        *event.mutable_session_held() = std::move(held);
        return OneEvent(kSessionCategory, session_id,
                        planned != nullptr
                            ? eventstore::ExpectedRevision::StreamExists()
                            : eventstore::ExpectedRevision::NoStream(),
                        std::move(event));
      },
      response);
}

grpc::Status CpdProgrammeService::EvidenceFollowUp(
    grpc::ServerContext* context, const v1::EvidenceFollowUpRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time at) -> absl::StatusOr<Decision> {
        const v1::FollowUpEvidenced& follow_up = request->follow_up();
        THROUGHLINE_RETURN_IF_ERROR(
            CheckId(follow_up.follow_up_id(), "follow_up.follow_up_id"));
        if (state.IdUsed("follow_up", follow_up.follow_up_id())) {
          return Taken("follow_up.follow_up_id",
                       absl::StrCat("follow-up \"", follow_up.follow_up_id(),
                                    "\" already exists"));
        }
        THROUGHLINE_RETURN_IF_ERROR(
            CheckStaffKnown(state, follow_up.staff_id(), "follow_up.staff_id"));
        THROUGHLINE_RETURN_IF_ERROR(
            CheckTarget(state, follow_up.staff_id(), follow_up.target(), at));
        THROUGHLINE_RETURN_IF_ERROR(
            CheckEnum(follow_up.evidence_kind(),
                      v1::EvidenceKind_IsValid(follow_up.evidence_kind()),
                      "follow_up.evidence_kind"));
        THROUGHLINE_RETURN_IF_ERROR(CheckText(follow_up.description().text(),
                                              kMaxLongTextLength,
                                              "follow_up.description.text"));
        THROUGHLINE_RETURN_IF_ERROR(CheckAreas(state, follow_up.areas(),
                                               "follow_up.areas",
                                               /*required=*/false));
        THROUGHLINE_RETURN_IF_ERROR(
            CheckMechanisms(follow_up.mechanisms(), "follow_up.mechanisms"));
        v1::CpdEvent event;
        *event.mutable_follow_up_evidenced() = follow_up;
        return OneEvent(kFollowUpCategory, follow_up.follow_up_id(),
                        eventstore::ExpectedRevision::NoStream(),
                        std::move(event));
      },
      response);
}

grpc::Status CpdProgrammeService::ShareEnquiryFindings(
    grpc::ServerContext* context,
    const v1::ShareEnquiryFindingsRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time) -> absl::StatusOr<Decision> {
        const v1::EnquiryFindingsShared& findings = request->findings();
        constexpr char kField[] = "findings.programme_id";
        THROUGHLINE_RETURN_IF_ERROR(CheckId(findings.programme_id(), kField));
        const projections::Programme* programme =
            state.FindProgramme(findings.programme_id());
        if (programme == nullptr) {
          return Conflict(kField, absl::StrCat("unknown programme \"",
                                               findings.programme_id(), "\""));
        }
        if (programme->kind != v1::PROGRAMME_KIND_ENQUIRY) {
          return Conflict(kField,
                          absl::StrCat("programme \"", findings.programme_id(),
                                       "\" is not an enquiry"));
        }
        THROUGHLINE_RETURN_IF_ERROR(CheckText(
            findings.summary(), kMaxLongTextLength, "findings.summary",
            /*required=*/true));
        THROUGHLINE_RETURN_IF_ERROR(CheckAreas(state, findings.areas(),
                                               "findings.areas",
                                               /*required=*/false));
        v1::CpdEvent event;
        *event.mutable_enquiry_findings_shared() = findings;
        return OneEvent(kProgrammeCategory, findings.programme_id(),
                        eventstore::ExpectedRevision::StreamExists(),
                        std::move(event));
      },
      response);
}

}  // namespace throughline::services::cpd
