// The API form of stored events, written straight from the stored records
// (eventstore::EventRecordView): the wire bytes of v1::RecordedEvent for
// raw catch-up replies, or the message's fields set in place. Both give
// exactly what ToProto gives for the same event.

#ifndef THROUGHLINE_SERVICES_READ_ENCODING_H_
#define THROUGHLINE_SERVICES_READ_ENCODING_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "eventstore/format.h"
#include "throughline/eventstore/v1/eventstore.pb.h"

namespace throughline::services {

// Appends `field_number` (length-delimited) holding the v1::RecordedEvent of
// the event at `position` to *out: one element of a repeated RecordedEvent
// field, or the event of a SubscribeResponse.
void AppendRecordedEventField(uint32_t field_number, uint64_t position,
                              const eventstore::EventRecordView& record,
                              std::string* out);

// Appends a length-delimited field holding `value` (e.g. a serialized
// message) to *out.
void AppendBytesField(uint32_t field_number, absl::string_view value,
                      std::string* out);

// Appends a varint field (omitted when zero, as proto3 does).
void AppendVarintField(uint32_t field_number, uint64_t value, std::string* out);

// Sets *proto to the event at `position`, reusing its storage.
void SetRecordedEvent(uint64_t position,
                      const eventstore::EventRecordView& record,
                      ::throughline::eventstore::v1::RecordedEvent* proto);

}  // namespace throughline::services

#endif  // THROUGHLINE_SERVICES_READ_ENCODING_H_
