// A nats-server child process with JetStream for tests: bound to 127.0.0.1
// only, on a free port, storing in a directory the test owns. It can be
// killed with SIGKILL and started again on the same port and store.

#ifndef THROUGHLINE_TESTS_NATS_SERVER_PROCESS_H_
#define THROUGHLINE_TESTS_NATS_SERVER_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace throughline::testing {

class NatsServerProcess {
 public:
  // Keeps its config, log and JetStream store under `work_dir` (which must
  // exist). Picks a free loopback port on the first Start.
  explicit NatsServerProcess(std::string work_dir);
  // Runs `config_file` as given (e.g. a node of deploy/nats/), with `env`
  // added to the environment; `port` is its client port.
  NatsServerProcess(std::string work_dir, std::string config_file, int port,
                    std::map<std::string, std::string> env);
  ~NatsServerProcess();  // Kills the process if still running.

  // Starts the process and waits (up to 30 s) until it reports it is ready
  // and accepts connections. Returns false (with a gtest failure) if not.
  bool Start();
  // SIGKILL, then reap.
  void Kill();
  // SIGTERM, then reap.
  void Terminate();
  bool running() const { return pid_ > 0; }

  int port() const { return port_; }
  // "nats://127.0.0.1:<port>".
  std::string url() const;
  // What the process logged so far.
  std::string Log() const;

  // The nats-server executable, or "" when it is not installed.
  static std::string Binary();
  // A TCP port on 127.0.0.1 that was free a moment ago.
  static int FreePort();

 private:
  const std::string work_dir_;
  std::string config_file_;
  const std::map<std::string, std::string> env_;
  std::string log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// The 3-node JetStream cluster of deploy/nats/ (n1.conf to n3.conf in
// `deploy_dir`): each node's config is copied to `work_dir`/nI/ with the
// fixed client ports (14222-14224) and route ports (16222-16224) replaced by
// free loopback ports, so that tests can run side by side; stores under
// `work_dir`/nI/store. Not started yet.
std::vector<std::unique_ptr<NatsServerProcess>> DeployCluster(
    const std::string& deploy_dir, const std::string& work_dir);

}  // namespace throughline::testing

#endif  // THROUGHLINE_TESTS_NATS_SERVER_PROCESS_H_
