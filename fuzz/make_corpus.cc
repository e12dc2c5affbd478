// Writes the fuzzers' seed corpora (fuzz/corpus/<fuzzer>/) from real, valid
// traffic: the calls of `throughline demo`'s synthetic trust, each checked
// to be accepted by the real services before it is kept, and the events
// those calls stored.
//
//   make_corpus <corpus dir>
//
// Run it again when the API changes (docs/fuzzing.md).

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "eventstore/format.h"
#include "fuzz/harness.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "throughline/cpd/v1/organisation.pb.h"
#include "throughline/eventstore/v1/eventstore.pb.h"
#include "tools/demo.h"

namespace throughline::fuzz {
namespace {

namespace es_v1 = ::throughline::eventstore::v1;

constexpr uint8_t kMetadataTag = 255;
constexpr size_t kMaxCalls = 64;  // As request_fuzzer reads.

struct Call {
  size_t rpc = 0;  // Index in Rpcs().
  std::string request;
  std::string source_platform;
};

// Map fields in deterministic order, so that the corpus is the same on
// every run.
std::string Serialize(const google::protobuf::Message& message) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
  coded.Trim();
  return bytes;
}

size_t RpcIndex(const std::string& name) {
  const std::vector<Rpc>& rpcs = Rpcs();
  for (size_t i = 0; i < rpcs.size(); ++i) {
    if (rpcs[i].name == name) return i;
  }
  std::fprintf(stderr, "make_corpus: no RPC %s in the fuzz table\n",
               name.c_str());
  std::exit(1);
}

std::string Frames(const std::vector<Call>& calls) {
  std::string out;
  std::string platform;
  for (const Call& call : calls) {
    if (call.source_platform != platform) {
      platform = call.source_platform;
      AppendFrame(kMetadataTag,
                  absl::StrCat("demo", std::string(1, '\0'), platform), &out);
    }
    AppendFrame(static_cast<uint8_t>(call.rpc), call.request, &out);
  }
  return out;
}

// Runs `calls` for a fresh trust; true if every one is accepted. The trust
// is returned for reading its log.
bool Accepted(Sandbox& sandbox, const std::vector<Call>& calls,
              std::string* trust) {
  CallMetadata metadata;
  metadata.trust = sandbox.NextTrust();
  metadata.actor = "demo";
  *trust = metadata.trust;
  for (const Call& call : calls) {
    const Rpc& rpc = Rpcs()[call.rpc];
    std::unique_ptr<google::protobuf::Message> request = rpc.new_request();
    if (!request->ParseFromString(call.request)) return false;
    metadata.source_platform = call.source_platform;
    if (!rpc.call(sandbox, metadata, *request).status.ok()) return false;
  }
  return true;
}

void Write(const std::filesystem::path& dir, const std::string& name,
           const std::string& bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::string FileName(const std::string& rpc) {
  return absl::AsciiStrToLower(absl::StrReplaceAll(rpc, {{".", "-"}}));
}

// The events of `trust`'s log as event_fuzzer frames, and each stored
// record value for record_fuzzer.
void WriteEvents(Sandbox& sandbox, const std::string& trust,
                 const std::filesystem::path& corpus, const std::string& name) {
  absl::StatusOr<eventstore::LogPage> page =
      sandbox.store()->ReadLog(trust, 1, eventstore::LogFilter(), 1000);
  FUZZ_CHECK(page.ok(), page.status().ToString());
  const google::protobuf::OneofDescriptor* oneof =
      cpd::v1::CpdEvent::descriptor()->FindOneofByName("event");
  std::string frames;
  for (const eventstore::RecordedEvent& event : page->events) {
    int tag = oneof->field_count();  // Not a CPD event.
    for (int i = 0; i < oneof->field_count(); ++i) {
      if (oneof->field(i)->message_type()->name() == event.record.type()) {
        tag = i;
      }
    }
    std::string body;
    const uint64_t micros =
        static_cast<uint64_t>(event.record.occurred_at_micros());
    for (int i = 0; i < 8; ++i) {
      body.push_back(static_cast<char>((micros >> (8 * i)) & 0xff));
    }
    body += event.record.data();
    AppendFrame(static_cast<uint8_t>(tag), body, &frames);
  }
  Write(corpus / "event_fuzzer", name, frames);
  if (!page->events.empty()) {
    // The time it was stored at, fixed, so that the corpus does not change.
    eventstore::EventRecord record = page->events.back().record;
    record.set_recorded_at_micros(record.occurred_at_micros());
    Write(corpus / "record_fuzzer", name, Serialize(record));
  }
}

// EventStore calls a platform makes: an append of two events, then reads.
std::vector<Call> EventStoreCalls() {
  std::vector<Call> calls;
  es_v1::AppendRequest append;
  append.set_stream("lesson-42");
  append.mutable_expected_revision()->set_state(
      es_v1::ExpectedRevision::STATE_NO_STREAM);
  for (int i = 0; i < 2; ++i) {
    es_v1::ProposedEvent* event = append.add_events();
    event->set_event_id(absl::StrCat("0f8fad5b-d9cb-469f-a165-70867728950", i));
    event->set_type(i == 0 ? "LessonPlanned" : "LessonTaught");
    event->set_content_type("application/json");
    event->set_data(R"({"class":"9X2","subject":"maths"})");
    event->mutable_metadata()->set_actor("teacher-7");
    event->mutable_metadata()->set_source_platform("planner");
    event->mutable_occurred_at()->set_seconds(1760000000 + i * 3600);
  }
  calls.push_back(
      {RpcIndex("EventStore.Append"), Serialize(append), "planner"});
  es_v1::ReadStreamRequest read_stream;
  read_stream.set_stream("lesson-42");
  read_stream.set_max_count(10);
  calls.push_back(
      {RpcIndex("EventStore.ReadStream"), Serialize(read_stream), "planner"});
  es_v1::ReadAllRequest read_all;
  read_all.set_from_position(1);
  read_all.set_max_count(10);
  read_all.mutable_filter()->add_categories("lesson");
  calls.push_back(
      {RpcIndex("EventStore.ReadAll"), Serialize(read_all), "planner"});
  es_v1::GetStreamRequest get_stream;
  get_stream.set_stream("lesson-42");
  calls.push_back(
      {RpcIndex("EventStore.GetStream"), Serialize(get_stream), "planner"});
  calls.push_back({RpcIndex("EventStore.GetLogInfo"), "", "planner"});
  es_v1::VerifyRequest verify;
  verify.set_from_position(1);
  verify.set_max_events(10);
  calls.push_back(
      {RpcIndex("EventStore.Verify"), Serialize(verify), "planner"});
  return calls;
}

void SetTime(absl::Time t, google::protobuf::Timestamp* timestamp) {
  timestamp->set_seconds(absl::ToUnixSeconds(t));
}

// The setup, then an area relabelled, the areas listed and the area retired.
std::vector<Call> TaxonomyCalls(const std::vector<Call>& setup, absl::Time at) {
  std::vector<Call> calls = setup;
  const std::string platform = "admin";
  cpd::v1::RelabelDevelopmentAreaRequest relabel;
  relabel.set_request_id("taxonomy-1");
  SetTime(at, relabel.mutable_occurred_at());
  relabel.mutable_relabel()->set_code("questioning");
  relabel.mutable_relabel()->set_label("Questioning and dialogue");
  calls.push_back({RpcIndex("OrganisationService.RelabelDevelopmentArea"),
                   Serialize(relabel), platform});
  calls.push_back(
      {RpcIndex("OrganisationService.ListDevelopmentAreas"), "", platform});
  cpd::v1::RetireDevelopmentAreaRequest retire;
  retire.set_request_id("taxonomy-2");
  SetTime(at + absl::Hours(1), retire.mutable_occurred_at());
  retire.mutable_retire()->set_code("questioning");
  calls.push_back({RpcIndex("OrganisationService.RetireDevelopmentArea"),
                   Serialize(retire), platform});
  return calls;
}

int Main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus <corpus dir>\n");
    return 2;
  }
  const std::filesystem::path corpus = argv[1];
  QuietLogs();

  cli::DemoOptions options;
  options.seed = 1;
  options.schools = 1;
  options.staff = 12;
  // Fixed, so that the corpus does not change from one run to the next.
  options.now =
      absl::FromCivil(absl::CivilDay(2026, 7, 1), absl::UTCTimeZone());
  absl::StatusOr<cli::DemoPlan> plan = cli::GenerateDemo(options);
  FUZZ_CHECK(plan.ok(), plan.status().ToString());
  std::vector<Call> calls;
  for (const cli::DemoCall& call : plan->calls) {
    calls.push_back(
        {RpcIndex(call.rpc), Serialize(*call.request), call.source_platform});
  }

  // The organisation and staff directory calls the demo starts with.
  std::vector<Call> setup;
  for (const Call& call : calls) {
    const std::string& name = Rpcs()[call.rpc].name;
    if (name.rfind("OrganisationService.", 0) != 0 &&
        name.rfind("StaffDirectoryService.", 0) != 0) {
      break;
    }
    setup.push_back(call);
  }
  FUZZ_CHECK(setup.size() < kMaxCalls, absl::StrCat(setup.size()));

  Sandbox sandbox(/*with_views=*/false);
  std::string trust;
  FUZZ_CHECK(Accepted(sandbox, setup, &trust), "the demo setup is refused");
  Write(corpus / "request_fuzzer", "setup", Frames(setup));
  WriteEvents(sandbox, trust, corpus, "setup");

  // For each RPC the demo calls: the setup and one call of it that is
  // accepted after the setup alone, or else the demo's calls up to it.
  std::map<size_t, std::vector<Call>> seeds;
  for (size_t i = setup.size(); i < calls.size(); ++i) {
    const size_t rpc = calls[i].rpc;
    if (seeds.count(rpc) > 0) continue;
    std::vector<Call> seed = setup;
    seed.push_back(calls[i]);
    if (Accepted(sandbox, seed, &trust)) {
      seeds[rpc] = seed;
      continue;
    }
    if (i + 1 <= kMaxCalls) {
      seed.assign(calls.begin(),
                  calls.begin() + static_cast<std::ptrdiff_t>(i + 1));
      if (Accepted(sandbox, seed, &trust)) seeds[rpc] = seed;
    }
  }
  // Calls that need earlier records: the demo's calls up to the first one
  // of the RPC, less every earlier call (after the setup) that it is still
  // accepted without.
  for (size_t i = setup.size(); i < calls.size(); ++i) {
    const size_t rpc = calls[i].rpc;
    if (seeds.count(rpc) > 0) continue;
    std::vector<Call> seed(calls.begin(),
                           calls.begin() + static_cast<std::ptrdiff_t>(i + 1));
    for (size_t j = i; j-- > setup.size();) {
      std::vector<Call> without = seed;
      without.erase(without.begin() + static_cast<std::ptrdiff_t>(j));
      if (Accepted(sandbox, without, &trust)) seed = std::move(without);
    }
    if (seed.size() <= kMaxCalls && Accepted(sandbox, seed, &trust)) {
      seeds[rpc] = seed;
    }
  }
  seeds[RpcIndex("EventStore.Append")] = EventStoreCalls();
  seeds[RpcIndex("OrganisationService.RelabelDevelopmentArea")] =
      TaxonomyCalls(setup, plan->registered_at + absl::Hours(24 * 30));

  for (const auto& [rpc, seed] : seeds) {
    FUZZ_CHECK(Accepted(sandbox, seed, &trust), Rpcs()[rpc].name);
    const std::string name = FileName(Rpcs()[rpc].name);
    Write(corpus / "request_fuzzer", name, Frames(seed));
    WriteEvents(sandbox, trust, corpus, name);
  }
  std::set<size_t> covered;
  for (const Call& call : setup) covered.insert(call.rpc);
  for (const auto& [rpc, seed] : seeds) {
    for (const Call& call : seed) covered.insert(call.rpc);
  }
  for (size_t i = 0; i < Rpcs().size(); ++i) {
    if (covered.count(i) == 0) {
      std::fprintf(stderr, "make_corpus: no accepted seed calls %s\n",
                   Rpcs()[i].name.c_str());
    }
  }

  // record_fuzzer: the other values it decodes.
  eventstore::IdEntry entry;
  entry.position = 17;
  entry.revision = 3;
  entry.digest.fill(0xab);
  Write(corpus / "record_fuzzer", "id-entry", eventstore::EncodeIdEntry(entry));
  Write(corpus / "record_fuzzer", "uuid",
        "0F8FAD5B-d9cb-469f-a165-708677289501");
  Write(corpus / "record_fuzzer", "tenant", "northfield-trust");
  Write(corpus / "record_fuzzer", "stream", "observation-obs:2025@north_1.a");
  std::printf("make_corpus: %zu request seeds written to %s\n",
              seeds.size() + 1, corpus.c_str());
  return 0;
}

}  // namespace
}  // namespace throughline::fuzz

int main(int argc, char** argv) { return throughline::fuzz::Main(argc, argv); }
