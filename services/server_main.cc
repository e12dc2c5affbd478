// throughline-server: serves the Throughline gRPC API over a local RocksDB
// event store. See `throughline-server --help` and docs/operations.md.

#include <signal.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/log.h"
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
    throughline::services::Log(
        throughline::services::LogLevel::kError, "config_invalid",
        {{"msg", std::string(config.status().message())}});
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

  namespace services = throughline::services;
  absl::StatusOr<std::unique_ptr<services::Server>> server =
      services::Server::Start(*config);
  if (!server.ok()) {
    services::Log(services::LogLevel::kError, "start_failed",
                  {{"msg", std::string(server.status().message())},
                   {"code", absl::StatusCodeToString(server.status().code())}});
    return 1;
  }
  // The "(port N)" in msg is what scripts wait for.
  services::LogFields fields = {
      {"msg", absl::StrCat("serving on ", config->listen, " (port ",
                           (*server)->port(), "), data in ", config->data_dir)},
      {"listen", config->listen},
      {"port", absl::StrCat((*server)->port())},
      {"data_dir", config->data_dir},
      {"metrics_port", absl::StrCat((*server)->metrics_port())},
  };
  // The whole configuration, so a log shows what the server ran with.
  for (const services::OptionHelp& option : services::DescribeOptions()) {
    fields.emplace_back(absl::StrCat("config.", option.name),
                        services::ConfigValue(*config, option.name));
  }
  services::Log(services::LogLevel::kInfo, "serving", fields);
  if (!(*server)->bootstrap_token_file().empty()) {
    services::Log(services::LogLevel::kInfo, "operator_token_written",
                  {{"msg", absl::StrCat("first start: an operator token is in ",
                                        (*server)->bootstrap_token_file(),
                                        " (readable by you only; see "
                                        "docs/security.md)")},
                   {"path", (*server)->bootstrap_token_file()}});
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  services::Log(
      services::LogLevel::kInfo, "shutting_down",
      {{"msg", absl::StrCat("signal ", signal_number, ", shutting down")},
       {"signal", absl::StrCat(signal_number)}});
  (*server)->Shutdown();
  services::Log(services::LogLevel::kInfo, "stopped", {{"msg", "stopped"}});
  return 0;
}
