// Plain data types for what stakewatch reads from the Beacon API.
//
// These are decoded values, not JSON: numbers are integers, 0x-hex byte strings are bytes. They
// carry only the fields stakewatch uses. Every type is a plain struct, cheap to move, with no
// behaviour beyond small helpers; decoders live in beacon/decode.h and the HTTP client in
// beacon/client.h. Thread-compatible (no internal synchronisation).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stakewatch::beacon {

using Slot = uint64_t;
using Epoch = uint64_t;
using ValidatorIndex = uint64_t;
using Gwei = uint64_t;

using Root = std::array<uint8_t, 32>;
using Address = std::array<uint8_t, 20>;
using Pubkey = std::array<uint8_t, 48>;

// GET /eth/v1/beacon/genesis
struct Genesis {
  uint64_t genesis_time = 0;  // unix seconds
  Root genesis_validators_root{};
  std::array<uint8_t, 4> genesis_fork_version{};
};

// GET /eth/v1/config/spec: the constants stakewatch needs. Missing keys keep mainnet defaults,
// except where a decoder documents otherwise.
struct ChainSpec {
  uint64_t seconds_per_slot = 12;
  // SLOT_DURATION_MS where the node serves it (newer configs; stakewatch's simulator serves it
  // for sub-second slots); otherwise the decoder sets seconds_per_slot * 1000.
  uint64_t slot_duration_ms = 12000;
  uint64_t slots_per_epoch = 32;
  uint64_t max_committees_per_slot = 64;
  uint64_t target_committee_size = 128;
  uint64_t sync_committee_size = 512;
  uint64_t epochs_per_sync_committee_period = 256;
  uint64_t min_attestation_inclusion_delay = 1;
  Epoch altair_fork_epoch = UINT64_MAX;
  Epoch deneb_fork_epoch = UINT64_MAX;
  Epoch electra_fork_epoch = UINT64_MAX;
  std::string config_name;  // e.g. "mainnet", "sepolia"; empty when absent
};

// GET /eth/v1/node/syncing
struct SyncStatus {
  Slot head_slot = 0;
  uint64_t sync_distance = 0;
  bool is_syncing = false;
  bool is_optimistic = false;
  bool el_offline = false;  // false when the node does not report it
};

// GET /eth/v1/node/peer_count
struct PeerCount {
  uint64_t connected = 0;
  uint64_t connecting = 0;
  uint64_t disconnected = 0;
  uint64_t disconnecting = 0;
};

// GET /eth/v1/node/version: data.version, e.g. "Lighthouse/v5.3.0-d6ba8c3/x86_64-linux".
struct NodeVersion {
  std::string version;
};

struct Checkpoint {
  Epoch epoch = 0;
  Root root{};
};

// GET /eth/v1/beacon/states/{state_id}/finality_checkpoints
struct FinalityCheckpoints {
  Checkpoint previous_justified;
  Checkpoint current_justified;
  Checkpoint finalized;
};

// GET /eth/v1/beacon/headers/{block_id}, or one element of GET /eth/v1/beacon/headers?slot=.
struct BlockHeader {
  Root root{};
  bool canonical = false;
  Slot slot = 0;
  ValidatorIndex proposer_index = 0;
  Root parent_root{};
  Root state_root{};
  Root body_root{};
};

struct AttestationData {
  Slot slot = 0;
  uint64_t index = 0;  // committee index before Electra; always 0 from Electra on
  Root beacon_block_root{};
  Checkpoint source;
  Checkpoint target;
};

// An on-chain (aggregate) attestation, Deneb or Electra.
struct Attestation {
  // The SSZ Bitlist exactly as on the wire, including the length-marker bit.
  std::vector<uint8_t> aggregation_bits;
  // Electra only: the Bitvector[64] committee_bits, byte i of the wire form in bits 8i..8i+7
  // (so committee c is set iff (committee_bits >> c) & 1). nullopt before Electra.
  std::optional<uint64_t> committee_bits;
  AttestationData data;
};

struct Withdrawal {
  uint64_t index = 0;
  ValidatorIndex validator_index = 0;
  Address address{};
  Gwei amount = 0;
};

struct ExecutionPayloadSummary {
  Address fee_recipient{};
  uint64_t block_number = 0;
  Root block_hash{};
  std::vector<Withdrawal> withdrawals;  // empty when blinded
  // True when decoded from a blinded block's execution_payload_header, which carries only the
  // withdrawals' root: `withdrawals` is then empty, not "no withdrawals".
  bool blinded = false;
};

struct SyncAggregate {
  std::array<uint8_t, 64> sync_committee_bits{};  // Bitvector[512], little-endian bit order
};

// body.deposits[i].data: a deposit from the eth1 deposit contract queue (phase0 on; still
// processed in Electra until the legacy queue drains). Only what stakewatch uses.
struct DepositSummary {
  Pubkey pubkey{};
  Gwei amount = 0;
};

// Electra body.execution_requests.deposits[i] (EIP-6110 DepositRequest; signature not kept).
struct DepositRequest {
  Pubkey pubkey{};
  Root withdrawal_credentials{};
  Gwei amount = 0;
  uint64_t index = 0;  // the deposit contract's deposit index
};

// Electra body.execution_requests.withdrawals[i] (EIP-7002 WithdrawalRequest).
struct WithdrawalRequest {
  Address source_address{};
  Pubkey validator_pubkey{};
  Gwei amount = 0;  // 0 (FULL_EXIT_REQUEST_AMOUNT) asks for a full exit
};

// Electra body.execution_requests.consolidations[i] (EIP-7251 ConsolidationRequest).
struct ConsolidationRequest {
  Address source_address{};
  Pubkey source_pubkey{};
  Pubkey target_pubkey{};
};

// Electra body.execution_requests, in block order.
struct ExecutionRequests {
  std::vector<DepositRequest> deposits;
  std::vector<WithdrawalRequest> withdrawals;
  std::vector<ConsolidationRequest> consolidations;
};

// GET /eth/v2/beacon/blocks/{block_id} (signed block; only the fields stakewatch uses).
struct Block {
  std::string version;  // "deneb", "electra", ... from the response's "version"
  bool execution_optimistic = false;
  bool finalized = false;
  Slot slot = 0;
  ValidatorIndex proposer_index = 0;
  Root parent_root{};
  Root state_root{};
  std::vector<Attestation> attestations;
  std::optional<SyncAggregate> sync_aggregate;               // from Altair on
  std::optional<ExecutionPayloadSummary> execution_payload;  // from Bellatrix on
  // The slashed proposer of each body.proposer_slashings[i], in block order (the decoder checks
  // that both signed headers name the same proposer).
  std::vector<ValidatorIndex> proposer_slashings;
  // Validators slashed by body.attester_slashings: for each slashing the intersection of
  // attestation_1.attesting_indices and attestation_2.attesting_indices (consensus-specs
  // process_attester_slashing), united over all slashings; sorted ascending, no duplicates.
  // (The state transition skips validators that are already slashed or not slashable; the
  // block alone cannot tell, so this is the set the block *accuses*.)
  std::vector<ValidatorIndex> attester_slashed;
  // body.deposits[i].data, in block order (empty when the body has none).
  std::vector<DepositSummary> deposits;
  // body.execution_requests (Electra on); nullopt when the body has none (before Electra).
  std::optional<ExecutionRequests> execution_requests;
};

// One row of POST (or GET) /eth/v1/beacon/states/{state_id}/validator_balances.
struct ValidatorBalance {
  ValidatorIndex index = 0;
  Gwei balance = 0;
};

// One committee from GET /eth/v1/beacon/states/{state_id}/committees.
struct Committee {
  Slot slot = 0;
  uint64_t index = 0;
  std::vector<ValidatorIndex> validators;
};

// GET /eth/v1/validator/duties/proposer/{epoch}
struct ProposerDuty {
  Pubkey pubkey{};
  ValidatorIndex validator_index = 0;
  Slot slot = 0;
};

struct ProposerDuties {
  Root dependent_root{};
  bool execution_optimistic = false;
  std::vector<ProposerDuty> duties;
};

// POST /eth/v1/beacon/rewards/attestations/{epoch}. Values are gwei and may be negative.
struct IdealAttestationReward {
  Gwei effective_balance = 0;
  int64_t head = 0;
  int64_t target = 0;
  int64_t source = 0;
  int64_t inactivity = 0;
};
struct TotalAttestationReward {
  ValidatorIndex validator_index = 0;
  int64_t head = 0;
  int64_t target = 0;
  int64_t source = 0;
  int64_t inactivity = 0;
};
struct AttestationRewards {
  std::vector<IdealAttestationReward> ideal_rewards;  // one row per effective balance step
  std::vector<TotalAttestationReward> total_rewards;  // one row per requested validator
};

// One validator from POST (or GET) /eth/v1/beacon/states/{state_id}/validators.
struct ValidatorInfo {
  ValidatorIndex index = 0;
  Gwei balance = 0;
  // As served: pending_initialized, pending_queued, active_ongoing, active_exiting,
  // active_slashed, exited_unslashed, exited_slashed, withdrawal_possible, withdrawal_done.
  std::string status;
  Pubkey pubkey{};
  Root withdrawal_credentials{};
  Gwei effective_balance = 0;
  bool slashed = false;
  Epoch activation_eligibility_epoch = 0;
  Epoch activation_epoch = 0;
  Epoch exit_epoch = 0;  // UINT64_MAX (FAR_FUTURE_EPOCH) when not exiting
  Epoch withdrawable_epoch = 0;
};

// One row of POST /eth/v1/validator/liveness/{epoch}.
struct ValidatorLiveness {
  ValidatorIndex index = 0;
  bool is_live = false;
};

// GET /eth/v1/beacon/states/{state_id}/sync_committees?epoch=E.
struct SyncCommittee {
  // Position i of the committee (0..SYNC_COMMITTEE_SIZE-1) is held by validators[i]; a
  // validator can hold several positions.
  std::vector<ValidatorIndex> validators;
  // The same positions split into SYNC_COMMITTEE_SUBNET_COUNT subcommittees.
  std::vector<std::vector<ValidatorIndex>> validator_aggregates;
};

// GET /eth/v1/beacon/rewards/blocks/{block_id}: the proposer's reward for one block, gwei.
struct BlockRewards {
  ValidatorIndex proposer_index = 0;
  Gwei total = 0;
  Gwei attestations = 0;
  Gwei sync_aggregate = 0;
  Gwei proposer_slashings = 0;
  Gwei attester_slashings = 0;
};

// One row of POST /eth/v1/beacon/rewards/sync_committee/{block_id}. Negative for a missed vote.
struct SyncCommitteeReward {
  ValidatorIndex validator_index = 0;
  int64_t reward = 0;
};

}  // namespace stakewatch::beacon
