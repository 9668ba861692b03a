#include "support/replay_server.h"

#include <httplib.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "simdjson.h"

namespace stakewatch::testing {

namespace {

constexpr std::string_view kNotRecorded = R"({"code":404,"message":"not recorded"})";

absl::StatusOr<std::string> Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return ss.str();
}

bool FileExists(const std::string& path) { return std::ifstream(path).good(); }

// "http://host:port/a/b?x=1" -> "/a/b?x=1". Empty on a malformed URI.
std::string TargetOf(std::string_view uri) {
  const size_t scheme = uri.find("://");
  if (scheme == std::string_view::npos) return "";
  const size_t slash = uri.find('/', scheme + 3);
  if (slash == std::string_view::npos) return "/";
  return std::string(uri.substr(slash));
}

}  // namespace

std::string ReplayServer::CompactJson(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  bool in_string = false;
  bool escaped = false;
  for (char c : json) {
    if (in_string) {
      out.push_back(c);
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (c == '"') in_string = true;
    out.push_back(c);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<ReplayServer>> ReplayServer::Start(const std::string& dir) {
  std::unique_ptr<ReplayServer> self(new ReplayServer());
  absl::StatusOr<std::string> index = Slurp(dir + "/index.json");
  if (!index.ok()) return index.status();

  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(*index).get(root); err) {
    return absl::InvalidArgumentError(absl::StrCat("index.json: ", simdjson::error_message(err)));
  }
  simdjson::dom::array interactions;
  if (root["interactions"].get_array().get(interactions)) {
    return absl::InvalidArgumentError("index.json: no \"interactions\" array");
  }
  size_t n = 0;
  for (simdjson::dom::element it : interactions) {
    const std::string where = absl::StrCat("index.json: interactions[", n++, "]");
    simdjson::dom::object obj;
    if (it.get_object().get(obj)) return absl::InvalidArgumentError(where + ": not an object");
    if (obj["omitted"].error() == simdjson::SUCCESS) {
      ++self->skipped_;
      continue;
    }
    std::string_view method_view, uri, response_file_view, content_type = "application/json";
    int64_t status = 0;
    if (obj["method"].get_string().get(method_view) || obj["uri"].get_string().get(uri) ||
        obj["response_file"].get_string().get(response_file_view) ||
        obj["status"].get_int64().get(status)) {
      return absl::InvalidArgumentError(
          where + ": method, uri, response_file (strings) and status (integer) are required");
    }
    if (status < 100 || status > 599) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": bad status ", status));
    }
    std::string_view served_type;
    if (obj["content_type"].get_string().get(served_type) == simdjson::SUCCESS) {
      content_type = served_type;  // optional
    }
    // absl's string_view is not std::string_view here: keep std::strings from now on.
    const std::string method(method_view);
    const std::string response_file(response_file_view);
    if (absl::StrContains(response_file, "/") || absl::StrContains(response_file, "..")) {
      return absl::InvalidArgumentError(where + ": response_file must be a plain file name");
    }
    const std::string target = TargetOf(uri);
    if (target.empty()) return absl::InvalidArgumentError(where + ": uri has no scheme");

    const std::string response_path = absl::StrCat(dir, "/", response_file);
    if (!FileExists(response_path)) {  // a subset of the recording was copied
      ++self->skipped_;
      continue;
    }
    Recording rec;
    rec.status = static_cast<int>(status);
    rec.content_type = std::string(content_type);
    absl::StatusOr<std::string> body = Slurp(response_path);
    if (!body.ok()) return body.status();
    rec.body = *std::move(body);

    std::string_view request_file_view;
    if (obj["request_file"].get_string().get(request_file_view) == simdjson::SUCCESS) {
      const std::string request_file(request_file_view);
      if (absl::StrContains(request_file, "/") || absl::StrContains(request_file, "..")) {
        return absl::InvalidArgumentError(where + ": request_file must be a plain file name");
      }
      absl::StatusOr<std::string> req = Slurp(absl::StrCat(dir, "/", request_file));
      if (!req.ok()) return req.status();
      rec.match_body = true;
      rec.request_body = CompactJson(*req);
    }
    self->entries_[absl::StrCat(method, " ", target)].recordings.push_back(std::move(rec));
    ++self->loaded_;
  }

  self->server_ = std::make_unique<httplib::Server>();
  // Without it, Nagle's algorithm against delayed ACKs costs ~40 ms per keep-alive exchange.
  self->server_->set_tcp_nodelay(true);
  ReplayServer* raw = self.get();
  auto handler = [raw](const httplib::Request& req, httplib::Response& res) {
    const Recording* rec = raw->Match(req.method, req.target, req.body);
    if (rec == nullptr) {
      raw->misses_.fetch_add(1);
      res.status = 404;
      res.set_content(std::string(kNotRecorded), "application/json");
      return;
    }
    raw->hits_.fetch_add(1);
    res.status = rec->status;
    res.set_content(rec->body, rec->content_type.c_str());
  };
  // Every path, so that unknown ones get our 404 body rather than httplib's empty one.
  self->server_->Get(".*", handler);
  self->server_->Post(".*", handler);
  self->server_->Put(".*", handler);
  self->server_->Delete(".*", handler);
  self->port_ = self->server_->bind_to_any_port("127.0.0.1");
  if (self->port_ <= 0) return absl::UnavailableError("replay server: cannot bind 127.0.0.1");
  self->thread_ = std::thread([raw] { raw->server_->listen_after_bind(); });
  // listen_after_bind() sets is_running() once it accepts; wait so the first request connects.
  for (int i = 0; i < 500 && !self->server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!self->server_->is_running()) {
    return absl::UnavailableError("replay server: did not start within 5 s");
  }
  return self;
}

ReplayServer::~ReplayServer() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string ReplayServer::url() const { return absl::StrCat("http://127.0.0.1:", port_); }

const ReplayServer::Recording* ReplayServer::Match(const std::string& method,
                                                   const std::string& target,
                                                   std::string_view body) {
  const std::string key = absl::StrCat(method, " ", target);
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  std::vector<const Recording*> candidates;
  std::string compact;
  bool compacted = false;
  for (const Recording& rec : it->second.recordings) {
    if (rec.match_body) {
      if (!compacted) {
        compact = CompactJson(body);
        compacted = true;
      }
      if (rec.request_body != compact) continue;
    }
    candidates.push_back(&rec);
  }
  if (candidates.empty()) return nullptr;
  size_t n;
  {
    absl::MutexLock lock(&mu_);
    n = served_[absl::StrCat(key, "\n", compact)]++;
  }
  return candidates[std::min(n, candidates.size() - 1)];
}

}  // namespace stakewatch::testing
