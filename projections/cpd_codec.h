// How CPD events are stored in the generic event log: the event type is the
// message name, the content type names the protobuf message, the data is the
// serialized message. This is the one place that maps between the two.

#ifndef THROUGHLINE_PROJECTIONS_CPD_CODEC_H_
#define THROUGHLINE_PROJECTIONS_CPD_CODEC_H_

#include <string>

#include "absl/status/statusor.h"
#include "eventstore/event_store.h"
#include "throughline/cpd/v1/events.pb.h"

namespace throughline::projections {

namespace cpd = ::throughline::cpd::v1;

// "application/x-protobuf; proto=throughline.cpd.v1.<Name>".
std::string CpdContentType(const std::string& type);

// The stored type (message name) of the event set in `event`.
// REQUIRES: an event is set.
std::string CpdEventType(const cpd::CpdEvent& event);

// Fills type, content type and data of `proposed` from `event`.
void EncodeCpdEvent(const cpd::CpdEvent& event,
                    eventstore::ProposedEvent* proposed);

// Decodes a stored event. NotFound when its type is not a CPD event (the log
// may hold other events); DataLoss when its data does not parse.
absl::StatusOr<cpd::CpdEvent> DecodeCpdEvent(
    const eventstore::EventRecord& record);

}  // namespace throughline::projections

#endif  // THROUGHLINE_PROJECTIONS_CPD_CODEC_H_
