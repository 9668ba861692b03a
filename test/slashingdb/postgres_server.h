// PostgresServer: a throwaway PostgreSQL 15 cluster for integration tests.
//
// initdb on a fresh temporary directory, then pg_ctl start on a free loopback port with the Unix
// socket in that directory. PostgreSQL refuses to run as root, so when the test runs as root (CI
// does) the directory is handed to the `postgres` user and every PostgreSQL binary (initdb,
// pg_ctl, psql) runs through `runuser -u postgres --`. psql connects as the superuser `postgres`
// through the socket (trust); TCP on 127.0.0.1 asks for a password (scram-sha-256).
//
//   if (!PostgresServer::BinariesPresent()) GTEST_SKIP() << ...;
//   ASSERT_OK_AND_ASSIGN(auto pg, PostgresServer::Start({}));
//   pg->Psql("postgres", "CREATE DATABASE w");
//
// The destructor stops the server (immediate mode) and deletes the directory. Thread-compatible.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "support/process.h"

namespace stakewatch::testing {

// Runs argv[0] (a path) with `argv`, waits, and returns its stdout and stderr together; an error
// (with that output) when it cannot start or exits non-zero.
absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& argv);

class PostgresServer {
 public:
  static constexpr char kBinDir[] = "/usr/lib/postgresql/15/bin";

  struct Options {
    // Lines appended to postgresql.conf.
    std::vector<std::string> extra_conf;
  };

  // Whether initdb, pg_ctl, postgres and psql exist in kBinDir (and runuser, when root).
  static bool BinariesPresent();
  // Creates and starts a cluster.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start(const Options& options);
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // pg_ctl stop -m fast (waits until the server is down).
  absl::Status Stop();
  // pg_ctl start again on the same port (waits until it accepts connections).
  absl::Status Restart();

  // Runs `sql` (any number of statements, each in its own transaction unless the text says
  // otherwise) with psql as superuser on `db`; returns psql's unaligned, tuples-only output.
  absl::StatusOr<std::string> Psql(const std::string& db, const std::string& sql);
  // Starts psql running `sql` in the background with the given application_name.
  absl::StatusOr<std::unique_ptr<Subprocess>> PsqlInBackground(const std::string& db,
                                                               const std::string& sql,
                                                               const std::string& application_name);

  int port() const { return port_; }
  // The temporary directory (owned by `postgres` when running as root).
  const std::string& dir() const { return dir_; }

 private:
  PostgresServer() = default;
  // argv for a PostgreSQL binary, through runuser when we are root.
  std::vector<std::string> AsPostgres(const std::string& binary,
                                      const std::vector<std::string>& args) const;
  std::string WriteSqlFile(const std::string& sql);

  std::string dir_;
  int port_ = 0;
  bool running_ = false;
  int sql_files_ = 0;
};

}  // namespace stakewatch::testing
