#include "postgres_server.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace stakewatch::testing {
namespace {

constexpr char kRunuser[] = "/usr/sbin/runuser";

bool Executable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

}  // namespace

absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& argv) {
  int fds[2];
  // Close-on-exec, so that a daemon the command leaves behind (pg_ctl start) does not keep the
  // pipe open and our read waiting for ever; dup2 clears the flag on the child's 1 and 2.
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  std::vector<char*> cargs;
  for (const std::string& a : argv) cargs.push_back(const_cast<char*>(a.c_str()));
  cargs.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    close(fds[0]);
    const int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    dup2(in, 0);
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    execv(cargs[0], cargs.data());
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat(absl::StrJoin(argv, " "), " failed (status ", status, "):\n", out));
  }
  return out;
}

bool PostgresServer::BinariesPresent() {
  for (const char* b : {"initdb", "pg_ctl", "postgres", "psql"}) {
    if (!Executable(absl::StrCat(kBinDir, "/", b))) return false;
  }
  return geteuid() != 0 || (Executable(kRunuser) && getpwnam("postgres") != nullptr);
}

std::vector<std::string> PostgresServer::AsPostgres(const std::string& binary,
                                                    const std::vector<std::string>& args) const {
  std::vector<std::string> argv;
  if (geteuid() == 0) argv = {kRunuser, "-u", "postgres", "--"};
  argv.push_back(absl::StrCat(kBinDir, "/", binary));
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start(const Options& options) {
  std::unique_ptr<PostgresServer> pg(new PostgresServer());
  pg->dir_ = MakeTempDir("slashingdb-pg");
  if (pg->dir_ == "/tmp") return absl::InternalError("cannot create a temporary directory");
  if (geteuid() == 0) {
    const passwd* pw = getpwnam("postgres");
    if (pw == nullptr) return absl::FailedPreconditionError("no postgres user");
    if (chown(pg->dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::InternalError(absl::StrCat("cannot chown ", pg->dir_));
    }
  }
  pg->port_ = FreePort();
  const std::string data = pg->dir_ + "/data";
  auto init = RunCommand(pg->AsPostgres("initdb", {"-D", data, "-U", "postgres", "-A", "trust",
                                                   "--no-sync", "-E", "UTF8", "--locale=C"}));
  if (!init.ok()) return init.status();

  std::string conf = absl::StrCat("\nlisten_addresses = '127.0.0.1'\nport = ", pg->port_,
                                  "\nunix_socket_directories = '", pg->dir_, "'\n",
                                  "fsync = off\nfull_page_writes = off\n"
                                  "synchronous_commit = off\nmax_wal_size = '4GB'\n");
  for (const std::string& line : options.extra_conf) absl::StrAppend(&conf, line, "\n");
  std::ofstream(data + "/postgresql.conf", std::ios::app) << conf;
  std::ofstream(data + "/pg_hba.conf", std::ios::trunc)
      << "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n";
  if (absl::Status s = pg->Restart(); !s.ok()) return s;
  return pg;
}

absl::Status PostgresServer::Restart() {
  auto out = RunCommand(AsPostgres(
      "pg_ctl", {"-D", dir_ + "/data", "-l", dir_ + "/server.log", "-w", "-t", "60", "start"}));
  if (!out.ok()) {
    std::ifstream log(dir_ + "/server.log");
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    return absl::InternalError(absl::StrCat(out.status().message(), "\nserver.log:\n", text));
  }
  running_ = true;
  return absl::OkStatus();
}

absl::Status PostgresServer::Stop() {
  auto out = RunCommand(AsPostgres("pg_ctl", {"-D", dir_ + "/data", "-m", "fast", "-w", "stop"}));
  if (!out.ok()) return out.status();
  running_ = false;
  return absl::OkStatus();
}

PostgresServer::~PostgresServer() {
  if (running_) {
    (void)RunCommand(AsPostgres("pg_ctl", {"-D", dir_ + "/data", "-m", "immediate", "-w", "stop"}));
  }
  if (getenv("SLASHINGDB_KEEP_PGDATA") == nullptr && !dir_.empty() && dir_ != "/tmp") {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string PostgresServer::WriteSqlFile(const std::string& sql) {
  const std::string path = absl::StrCat(dir_, "/q", ++sql_files_, ".sql");
  std::ofstream(path, std::ios::trunc) << sql << "\n";
  chmod(path.c_str(), 0644);
  return path;
}

absl::StatusOr<std::string> PostgresServer::Psql(const std::string& db, const std::string& sql) {
  const std::string file = WriteSqlFile(sql);
  auto out = RunCommand(
      AsPostgres("psql", {"-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", dir_, "-p",
                          absl::StrCat(port_), "-U", "postgres", "-d", db, "-f", file}));
  std::filesystem::remove(file);
  return out;
}

absl::StatusOr<std::unique_ptr<Subprocess>> PostgresServer::PsqlInBackground(
    const std::string& db, const std::string& sql, const std::string& application_name) {
  const std::string file = WriteSqlFile(sql);
  return Subprocess::Start(
      AsPostgres("psql",
                 {"-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", dir_, "-p",
                  absl::StrCat(port_), "-U", "postgres", "-d",
                  absl::StrCat("dbname=", db, " application_name=", application_name), "-f", file}),
      absl::StrCat(dir_, "/", application_name));
}

}  // namespace stakewatch::testing
