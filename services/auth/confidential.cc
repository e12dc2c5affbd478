#include "services/auth/confidential.h"

#include "projections/cpd_codec.h"
#include "throughline/cpd/v1/events.pb.h"

namespace throughline::services::auth {
namespace {

namespace cpd = ::throughline::cpd::v1;

// True when the event's data is the CPD message `type`.
bool IsCpd(const ::throughline::eventstore::v1::RecordedEvent& event,
           const std::string& type) {
  return event.type() == type &&
         event.content_type() == projections::CpdContentType(type);
}

bool Is(const Caller& caller, const std::string& staff_id) {
  return !caller.principal.staff_id().empty() &&
         caller.principal.staff_id() == staff_id;
}

}  // namespace

bool MayHoldConfidentialText(absl::string_view type) {
  return type == "ObservationRecorded" || type == "CoachingConversationHeld";
}

void RedactForCaller(const Caller& caller,
                     ::throughline::eventstore::v1::RecordedEvent* event) {
  // The data is the event message itself (projections/cpd_codec.h); one
  // that does not parse is left to the reader, as any other.
  // The types here are those MayHoldConfidentialText names.
  if (IsCpd(*event, "ObservationRecorded")) {
    cpd::ObservationRecorded observation;
    if (!observation.ParseFromString(event->data()) ||
        !observation.confidential() ||
        Is(caller, observation.observed_staff_id()) ||
        Is(caller, observation.observer_staff_id())) {
      return;
    }
    observation.clear_notes();
    event->set_data(observation.SerializeAsString());
  } else if (IsCpd(*event, "CoachingConversationHeld")) {
    cpd::CoachingConversationHeld conversation;
    if (!conversation.ParseFromString(event->data()) ||
        !conversation.confidential() ||
        Is(caller, conversation.coach_staff_id()) ||
        Is(caller, conversation.coachee_staff_id())) {
      return;
    }
    conversation.clear_agreed_next_step();
    event->set_data(conversation.SerializeAsString());
  }
}

}  // namespace throughline::services::auth
