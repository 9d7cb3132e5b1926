// Health check of the `mongo` service in docker-compose.yml, run by mongosh every few seconds:
//
//   mongosh --quiet --norc --file /gonghui/mongo-replica-set.js
//
// MongoDB runs as the one-node replica set `rs0` (mongod --replSet rs0). On the first start,
// with an empty data volume, the set has no configuration yet: this script initiates it with
// the compose host name `mongo:27017` (the name the services reach it by, and the one a
// replica-set-aware client is told to use) and reports "not ready". Later runs report healthy
// only once this node is the writable primary, so services that wait for `service_healthy`
// never meet a set that cannot take writes yet. Exit code 0 = healthy, 1 = not (yet) healthy.
const replicaSet = "rs0";
const member = "mongo:27017";

function check() {
  const hello = db.adminCommand({ hello: 1 });
  if (!hello.setName) {
    // Started with --replSet but not initiated yet.
    try {
      rs.initiate({ _id: replicaSet, members: [{ _id: 0, host: member }] });
      print(`initiated replica set ${replicaSet} with member ${member}`);
    } catch (e) {
      if (e.codeName !== "AlreadyInitialized") throw e;
    }
    return 1; // healthy on a later run, once the node has elected itself primary
  }
  if (hello.setName !== replicaSet) {
    print(`unexpected replica set ${hello.setName}, want ${replicaSet}`);
    return 1;
  }
  return hello.isWritablePrimary ? 0 : 1;
}

let code = 1;
try {
  code = check();
} catch (e) {
  print(`mongo health check failed: ${e}`);
}
// quit() outside any try block: the exit code is what the Docker health check reads.
quit(code);
