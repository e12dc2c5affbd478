// CoachingService: coaching and mentoring conversations. Each conversation
// goes to its own stream "coaching-<conversation_id>": a conversation is
// recorded once and never changed, so the record itself is the consistency
// boundary, and the stream's NoStream expectation guards its id.

#include "absl/strings/str_cat.h"
#include "eventstore/errors.h"
#include "services/cpd/checks.h"
#include "services/cpd/silo_services.h"

namespace throughline::services::cpd {
namespace {

using eventstore::FieldError;
using eventstore::InvalidField;

constexpr char kCategory[] = "coaching";

}  // namespace

grpc::Status CoachingService::RecordCoachingConversation(
    grpc::ServerContext* context,
    const v1::RecordCoachingConversationRequest* request,
    v1::RecordResponse* response) {
  return runner_->Record(
      *context, *request,
      [request](const TrustState& state,
                absl::Time at) -> absl::StatusOr<Decision> {
        const v1::CoachingConversationHeld& conversation =
            request->conversation();
        THROUGHLINE_RETURN_IF_ERROR(CheckId(conversation.conversation_id(),
                                            "conversation.conversation_id"));
        if (state.CoachingCoachee(conversation.conversation_id()) != nullptr) {
          return FieldError(absl::StatusCode::kAlreadyExists,
                            "conversation.conversation_id",
                            absl::StrCat("coaching conversation \"",
                                         conversation.conversation_id(),
                                         "\" already exists"));
        }
        THROUGHLINE_RETURN_IF_ERROR(CheckEnum(
            conversation.kind(), v1::CoachingKind_IsValid(conversation.kind()),
            "conversation.kind"));
        THROUGHLINE_RETURN_IF_ERROR(CheckArea(state, conversation.focus_area(),
                                              "conversation.focus_area"));
        THROUGHLINE_RETURN_IF_ERROR(CheckText(
            conversation.agreed_next_step().text(), kMaxLongTextLength,
            "conversation.agreed_next_step.text"));
        if (conversation.has_next_step_due()) {
          absl::StatusOr<absl::Time> due = CheckTimestamp(
              conversation.next_step_due(), "conversation.next_step_due");
          if (!due.ok()) return due.status();
          if (*due < at) {
            return InvalidField("conversation.next_step_due",
                                absl::StrCat("is before the conversation (",
                                             absl::FormatTime(at), ")"));
          }
        }
        THROUGHLINE_RETURN_IF_ERROR(
            CheckStaffActive(state, conversation.coach_staff_id(), at,
                             "conversation.coach_staff_id"));
        if (conversation.coachee_staff_id() == conversation.coach_staff_id()) {
          return InvalidField("conversation.coachee_staff_id",
                              "a staff member cannot coach themself");
        }
        THROUGHLINE_RETURN_IF_ERROR(
            CheckStaffActive(state, conversation.coachee_staff_id(), at,
                             "conversation.coachee_staff_id"));
        v1::CpdEvent event;
        *event.mutable_coaching_conversation_held() = conversation;
        Decision decision;
        decision.stream = StreamFor(kCategory, conversation.conversation_id());
        decision.expected = eventstore::ExpectedRevision::NoStream();
        decision.events.push_back(std::move(event));
        return decision;
      },
      response);
}

}  // namespace throughline::services::cpd
