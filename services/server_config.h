// The server's configuration: every option, its default and its meaning.
//
// Options come from a config file (`--config=FILE`, lines of `name = value`,
// '#' starts a comment) and from command-line flags (`--name=value` or
// `--name value`); flags override the file. `throughline-server --help`
// prints the table below.

#ifndef THROUGHLINE_SERVICES_SERVER_CONFIG_H_
#define THROUGHLINE_SERVICES_SERVER_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace throughline::services {

struct ServerConfig {
  // Address the gRPC server listens on. Port 0 picks a free port.
  std::string listen = "127.0.0.1:50051";
  // Directory holding the RocksDB event store; created if missing.
  std::string data_dir = "./throughline-data";
  // Largest event data accepted, in bytes (1 to 64 MiB).
  uint64_t max_event_bytes = 256 * 1024;
  // Most events accepted in one Append (1 to 100000).
  uint64_t max_events_per_append = 1000;
  // Largest gRPC message accepted or sent, in bytes (1 MiB to 1 GiB).
  uint64_t max_message_bytes = 16 << 20;
  // Most server threads for reads and subscriptions (each subscriber holds
  // one); appends do not hold a thread while they wait to commit (4 to
  // 100000).
  uint64_t max_threads = 512;
  // RocksDB block cache, in MiB, shared by the event store and the views'
  // store (1 to 1048576).
  uint64_t block_cache_mib = 64;
  // RocksDB memtables of both stores together, in MiB, charged to the block
  // cache (8 to 1048576).
  uint64_t write_buffer_mib = 64;
  // Facts of the views' histories kept in memory over all trusts, so that
  // queries at the head read only what is new (0 to 100000000; 0: none).
  uint64_t views_cached_facts = 200000;
  // On SIGTERM/SIGINT, how long in-flight calls may take to finish, in
  // seconds, before they are cancelled (0 to 3600).
  uint64_t shutdown_grace_seconds = 10;

  // The NATS JetStream message bus (docs/bus.md). Off unless nats_url is set.
  // NATS server URL(s), comma-separated (e.g. "nats://127.0.0.1:4222");
  // empty turns the bus off.
  std::string nats_url;
  // JetStream stream committed events are published to.
  std::string bus_stream = "THROUGHLINE_EVENTS";
  // Replicas of the bus streams (1 to 5; more than 1 needs a cluster).
  uint64_t bus_replicas = 1;
  // JetStream's duplicate window (Nats-Msg-Id dedupe) of the bus streams, in
  // seconds (1 to 604800).
  uint64_t bus_duplicate_window_seconds = 120;
  // JetStream stream other platforms publish commands to.
  std::string bus_inbound_stream = "THROUGHLINE_INBOUND";
  // JetStream stream refused inbound commands are moved to.
  std::string bus_dead_letter_stream = "THROUGHLINE_DEAD_LETTERS";
  // Longest wait between retries while NATS is unreachable, in seconds (1 to
  // 3600).
  uint64_t bus_retry_max_seconds = 30;

  // Operations (docs/operations.md).
  // Address of the Prometheus metrics endpoint (GET /metrics), apart from the
  // gRPC port; empty turns it off.
  std::string metrics_listen;
  // A commit (write and fsync) slower than this is logged; 0 logs none.
  uint64_t slow_commit_ms = 1000;
  // Directory Admin.CreateBackup and scheduled backups write to; empty
  // refuses backups.
  std::string backup_dir;
  // Minutes between scheduled backups; 0 takes none.
  uint64_t backup_interval_minutes = 0;
  // Backups kept in backup_dir after each backup; 0 keeps all.
  uint64_t backup_keep = 0;

  // Security (docs/security.md).
  // PEM certificate chain and private key of the server; both set turns TLS
  // on, both empty leaves it off.
  std::string tls_cert_file;
  std::string tls_key_file;
  // PEM CA certificates client certificates are verified against; set, the
  // server asks clients for a certificate (mTLS) and a registered one stands
  // for its principal. Needs TLS.
  std::string tls_client_ca_file;
  // Without TLS the server refuses to listen on anything but a loopback
  // address unless this is true (e.g. behind a TLS-terminating proxy on a
  // private network).
  bool allow_insecure_listen = false;

  // Privacy (docs/audit-and-privacy.md).
  // File holding the master key that wraps the data keys of personal data
  // (32 bytes or 64 hex digits, mode 0600). Empty means
  // "<data_dir>/master.key", created with a new random key when missing:
  // a quick-start default only, since a backup of data_dir then holds the
  // key beside the data it protects. Production keeps it elsewhere.
  std::string master_key_file;
  // How often the server runs the retention job by itself, in seconds; 0
  // runs it only on request (0 to 31536000).
  uint64_t retention_interval_seconds = 0;

  // Trusts across nodes (docs/operations.md). Off unless node_id is set,
  // which needs nats_url: then each trust is served by one node, recorded in
  // a JetStream key-value bucket. Off, this node serves every trust.
  // This node's id: 1 to 63 of [a-z0-9-].
  std::string node_id;
  // The gRPC address other nodes and clients reach this node at; empty
  // means the listen address with the port actually bound.
  std::string advertise_address;
  // The JetStream key-value bucket holding the placement.
  std::string placement_bucket = "THROUGHLINE_PLACEMENT";
};

// One documented option, for --help and docs.
struct OptionHelp {
  std::string name;
  std::string default_value;
  std::string description;
  std::string range;  // Accepted values, e.g. "1 to 100000"; empty for text.
};
std::vector<OptionHelp> DescribeOptions();

// Builds a config from `args` (argv without the program name). Returns
// InvalidArgument naming the option for an unknown option, a bad value or an
// unreadable config file. Sets *help_requested when --help was given.
absl::StatusOr<ServerConfig> ParseServerConfig(
    const std::vector<std::string>& args, bool* help_requested);

// The value of option `name` in `config`, as text ("" for an unknown name).
std::string ConfigValue(const ServerConfig& config, const std::string& name);

// The --help text.
std::string ServerUsage();

}  // namespace throughline::services

#endif  // THROUGHLINE_SERVICES_SERVER_CONFIG_H_
