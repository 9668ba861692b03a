# query_functions: Prometheus 2.42's PromQL function implementations (promql/functions.go,
# promql/quantile.go) and the query value types. Included from query/CMakeLists.txt.
sw_cc_library(NAME query_functions
  SRCS functions_impl.cc value.cc
  HDRS function_impl.h value.h
  DEPS stakewatch::promql stakewatch::tsdb stakewatch::common absl::status absl::statusor absl::strings
       absl::str_format absl::flat_hash_map PkgConfig::RE2)

if(STAKEWATCH_BUILD_TESTS AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/functions_impl_test.cc)
  sw_cc_test(NAME query_functions_test SRCS functions_impl_test.cc
    DEPS stakewatch::query_functions stakewatch::promql)
endif()
