// throughline-server: serves the Throughline gRPC API over a local RocksDB
// event store. See `throughline-server --help` and docs/operations.md.

#include <signal.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "services/server.h"
#include "services/server_config.h"

int main(int argc, char** argv) {
  std::vector<std::string> args;
  bool check_config = false;  // Validate the configuration and exit.
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--check_config") {
      check_config = true;
    } else {
      args.emplace_back(argv[i]);
    }
  }
  bool help = false;
  absl::StatusOr<throughline::services::ServerConfig> config =
      throughline::services::ParseServerConfig(args, &help);
  if (help) {
    std::fputs(throughline::services::ServerUsage().c_str(), stdout);
    return 0;
  }
  if (!config.ok()) {
    std::fprintf(stderr, "throughline-server: %s\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }

  if (check_config) {
    std::fprintf(stdout, "throughline-server: configuration is valid\n");
    return 0;
  }

  // Block the stop signals in every thread; one thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::StatusOr<std::unique_ptr<throughline::services::Server>> server =
      throughline::services::Server::Start(*config);
  if (!server.ok()) {
    std::fprintf(stderr, "throughline-server: %s\n",
                 std::string(server.status().message()).c_str());
    return 1;
  }
  std::fprintf(
      stderr, "throughline-server: serving on %s (port %d), data in %s\n",
      config->listen.c_str(), (*server)->port(), config->data_dir.c_str());
  if (!(*server)->bootstrap_token_file().empty()) {
    std::fprintf(stderr,
                 "throughline-server: first start: an operator token is in "
                 "%s (readable by you only; see docs/security.md)\n",
                 (*server)->bootstrap_token_file().c_str());
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::fprintf(stderr, "throughline-server: signal %d, shutting down\n",
               signal_number);
  (*server)->Shutdown();
  std::fprintf(stderr, "throughline-server: stopped\n");
  return 0;
}
