# Small declarative helpers so that each module's CMakeLists.txt is a short list.
#
#   sw_cc_library(NAME beacon SRCS a.cc HDRS a.h DEPS stakewatch::common simdjson::simdjson)
#     -> target stakewatch_beacon, alias stakewatch::beacon. Include paths are rooted at exporter/,
#        so code includes "beacon/types.h". A module links only what it names in DEPS.
#   sw_cc_test(NAME beacon_test SRCS decode_test.cc DEPS stakewatch::beacon)
#     -> one gtest binary, registered with gtest_discover_tests.
#   sw_cc_benchmark(NAME bench_decode SRCS decode_bench.cc DEPS ...)

set(SW_WARNING_FLAGS -Wall -Wextra -Wpedantic -Werror -Wno-missing-field-initializers)

function(sw_cc_library)
  cmake_parse_arguments(SW "" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  set(target stakewatch_${SW_NAME})
  if(SW_SRCS)
    add_library(${target} STATIC ${SW_SRCS} ${SW_HDRS})
    target_include_directories(${target} PUBLIC ${STAKEWATCH_SOURCE_ROOT})
    target_link_libraries(${target} PUBLIC ${SW_DEPS})
    target_compile_options(${target} PRIVATE ${SW_WARNING_FLAGS})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${STAKEWATCH_SOURCE_ROOT})
    target_link_libraries(${target} INTERFACE ${SW_DEPS})
  endif()
  add_library(stakewatch::${SW_NAME} ALIAS ${target})
endfunction()

function(sw_cc_test)
  cmake_parse_arguments(SW "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${SW_NAME} ${SW_SRCS})
  target_link_libraries(${SW_NAME} PRIVATE ${SW_DEPS} GTest::gmock GTest::gtest_main)
  target_compile_options(${SW_NAME} PRIVATE ${SW_WARNING_FLAGS})
  target_compile_definitions(${SW_NAME} PRIVATE
    STAKEWATCH_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    STAKEWATCH_BINARY_DIR="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(${SW_NAME} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600)
endfunction()

function(sw_cc_benchmark)
  cmake_parse_arguments(SW "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${SW_NAME} ${SW_SRCS})
  target_link_libraries(${SW_NAME} PRIVATE ${SW_DEPS} benchmark::benchmark)
  target_compile_options(${SW_NAME} PRIVATE ${SW_WARNING_FLAGS})
  target_compile_definitions(${SW_NAME} PRIVATE STAKEWATCH_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
endfunction()
