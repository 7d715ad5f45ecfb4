//! CLUSTER, READONLY, READWRITE and ASKING as a Redis with cluster
//! support disabled answers them: Larder has no cluster mode, and these
//! commands say so with Redis's own error (cluster-aware clients read it
//! as "not a cluster"). Arity and unknown-subcommand errors come first,
//! as in Redis. The metadata is Redis 7.0's (7.2's CLUSTER MYSHARDID
//! added).

use super::{acl, flags::*, CommandSpec};
use crate::dispatch::Ctx;

const ADMIN_FLAGS: u64 = ADMIN | STALE | NO_ASYNC_LOADING;
const ADMIN_ACL: u64 = acl::ADMIN | acl::SLOW | acl::DANGEROUS;
const ND: &[&str] = &["nondeterministic_output"];

#[rustfmt::skip]
static CLUSTER_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("cluster|addslots", -3, ADMIN_FLAGS, ADMIN_ACL, disabled).doc("cluster", "3.0.0", "Assign new hash slots to receiving node", "O(N) where N is the total number of hash slot arguments"),
    CommandSpec::new("cluster|addslotsrange", -4, ADMIN_FLAGS, ADMIN_ACL, disabled).doc("cluster", "7.0.0", "Assign new hash slots to receiving node", "O(N) where N is the total number of the slots between the start slot and end slot arguments."),
    CommandSpec::new("cluster|bumpepoch", 2, ADMIN_FLAGS, ADMIN_ACL, disabled).doc("cluster", "3.0.0", "Advance the cluster config epoch", "O(1)").tips(ND),
    CommandSpec::new("cluster|count-failure-reports", 3, ADMIN | STALE, ADMIN_ACL, disabled).doc("cluster", "3.0.0", "Return the number of failure reports active for a given node", "O(N) where N is the number of failure reports").tips(ND),
    CommandSpec::new("cluster|countkeysinslot", 3, STALE, acl::SLOW, disabled).doc("cluster", "3.0.0", "Return the number of local keys in the specified hash slot", "O(1)"),
    CommandSpec::new("cluster|delslots", -3, ADMIN_FLAGS, ADMIN_ACL, disabled).doc("cluster", "3.0.0", "Set hash slots as unbound in receiving node", "O(N) where N is the total number of hash slot arguments"),
    CommandSpec::new("cluster|delslotsrange", -4, ADMIN_FLAGS, ADMIN_ACL, disabled).doc("cluster", "7.0.0", "Set hash slots as unbound in receiving node", "O(N) where N is the total number of the slots between the start slot and end slot arguments."),
    CommandSpec::new("cluster|failover", -2, ADMIN_FLAGS, ADMIN_ACL, disabled).doc("cluster", "3.0.0", "Forces a replica to perform a manual failover of its master.", "O(1)"),
    CommandSpec::new("cluster|flushslots", 2, ADMIN_FLAGS, ADMIN_ACL, disabled).doc("cluster", "3.0.0", "Delete a node's own slots information", "O(1)"),
    CommandSpec::new("cluster|forget", 3, ADMIN_FLAGS, ADMIN_ACL, disabled).doc("cluster", "3.0.0", "Remove a node from the nodes table", "O(1)"),
    CommandSpec::new("cluster|getkeysinslot", 4, STALE, acl::SLOW, disabled).doc("cluster", "3.0.0", "Return local key names in the specified hash slot", "O(log(N)) where N is the number of requested keys").tips(ND),
    CommandSpec::new("cluster|help", 2, LOADING | STALE, acl::SLOW, disabled).doc("cluster", "5.0.0", "Show helpful text about the different subcommands", "O(1)"),
    CommandSpec::new("cluster|info", 2, STALE, acl::SLOW, disabled).doc("cluster", "3.0.0", "Provides info about Redis Cluster node state", "O(1)").tips(ND),
    CommandSpec::new("cluster|keyslot", 3, STALE, acl::SLOW, disabled).doc("cluster", "3.0.0", "Returns the hash slot of the specified key", "O(N) where N is the number of bytes in the key"),
    CommandSpec::new("cluster|links", 2, STALE, acl::SLOW, disabled).doc("cluster", "7.0.0", "Returns a list of all TCP links to and from peer nodes in cluster", "O(N) where N is the total number of Cluster nodes").tips(ND),
    CommandSpec::new("cluster|meet", -4, ADMIN_FLAGS, ADMIN_ACL, disabled).doc("cluster", "3.0.0", "Force a node cluster to handshake with another node", "O(1)"),
    CommandSpec::new("cluster|myid", 2, STALE, acl::SLOW, disabled).doc("cluster", "3.0.0", "Return the node id", "O(1)"),
    CommandSpec::new("cluster|myshardid", 2, STALE, acl::SLOW, disabled).doc("cluster", "7.2.0", "Returns the shard ID of a node.", "O(1)").tips(ND),
    CommandSpec::new("cluster|nodes", 2, STALE, acl::SLOW, disabled).doc("cluster", "3.0.0", "Get Cluster config for the node", "O(N) where N is the total number of Cluster nodes").tips(ND),
    CommandSpec::new("cluster|replicas", 3, ADMIN | STALE, ADMIN_ACL, disabled).doc("cluster", "5.0.0", "List replica nodes of the specified master node", "O(1)").tips(ND),
    CommandSpec::new("cluster|replicate", 3, ADMIN_FLAGS, ADMIN_ACL, disabled).doc("cluster", "3.0.0", "Reconfigure a node as a replica of the specified master node", "O(1)"),
    CommandSpec::new("cluster|reset", -2, ADMIN | NOSCRIPT | STALE, ADMIN_ACL, disabled).doc("cluster", "3.0.0", "Reset a Redis Cluster node", "O(N) where N is the number of known nodes. The command may execute a FLUSHALL as a side effect."),
    CommandSpec::new("cluster|saveconfig", 2, ADMIN_FLAGS, ADMIN_ACL, disabled).doc("cluster", "3.0.0", "Forces the node to save cluster state on disk", "O(1)"),
    CommandSpec::new("cluster|set-config-epoch", 3, ADMIN_FLAGS, ADMIN_ACL, disabled).doc("cluster", "3.0.0", "Set the configuration epoch in a new node", "O(1)"),
    CommandSpec::new("cluster|setslot", -4, ADMIN_FLAGS, ADMIN_ACL, disabled).doc("cluster", "3.0.0", "Bind a hash slot to a specific node", "O(1)"),
    CommandSpec::new("cluster|shards", 2, STALE, acl::SLOW, disabled).doc("cluster", "7.0.0", "Get array of cluster slots to node mappings", "O(N) where N is the total number of cluster nodes").tips(ND),
    CommandSpec::new("cluster|slaves", 3, ADMIN | STALE, ADMIN_ACL, disabled).doc("cluster", "3.0.0", "List replica nodes of the specified master node", "O(1)").tips(ND),
    CommandSpec::new("cluster|slots", 2, STALE, acl::SLOW, disabled).doc("cluster", "3.0.0", "Get array of Cluster slot to node mappings", "O(N) where N is the total number of Cluster nodes").tips(ND),
];

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::container("cluster", -2, acl::SLOW, CLUSTER_SUBCOMMANDS).doc("cluster", "3.0.0", "A container for cluster commands", "Depends on subcommand."),
    CommandSpec::new("readonly", 1, LOADING | STALE | FAST, acl::FAST | acl::CONNECTION, disabled).doc("cluster", "3.0.0", "Enables read queries for a connection to a cluster replica node", "O(1)"),
    CommandSpec::new("readwrite", 1, LOADING | STALE | FAST, acl::FAST | acl::CONNECTION, disabled).doc("cluster", "3.0.0", "Disables read queries for a connection to a cluster replica node", "O(1)"),
    CommandSpec::new("asking", 1, FAST, acl::FAST | acl::CONNECTION, disabled).doc("cluster", "3.0.0", "Sent by cluster clients after an -ASK redirect", "O(1)"),
];

/// Redis's reply to every cluster command with `cluster-enabled no`.
fn disabled(ctx: &mut Ctx<'_>, _args: &[&[u8]]) {
    ctx.out.error("This instance has cluster support disabled");
}
