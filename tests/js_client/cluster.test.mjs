// `/` (info, ping), cluster health, the user's privileges and the API key cache through the official
// JavaScript client.
import assert from 'node:assert/strict'
import { before, test } from 'node:test'

import { connect, elastic, refused, unique, userWith } from './keydesk.mjs'

let monitor, nobody
before(async () => {
  const role = unique('js-monitor')
  await elastic.security.putRole({ name: role, cluster: ['monitor'] })
  monitor = await userWith([role], 'monitor')
  nobody = await userWith([], 'nobody')
})

test('info() and ping() on /', async () => {
  const info = await elastic.info()
  assert.deepEqual(Object.keys(info), ['name', 'cluster_name', 'cluster_uuid', 'version', 'tagline'])
  assert.equal(info.cluster_name, 'keydesk')
  assert.equal(info.tagline, 'You Know, for Search')
  assert.equal(info.version.number.split('.')[0], '9')
  assert.equal(info.version.build_flavor, 'default')
  assert.equal((await monitor.client.info()).cluster_uuid, info.cluster_uuid)
  assert.equal(await elastic.ping(), true)
  assert.equal(await monitor.client.ping(), true)
  // The JavaScript client's ping() answers false only for a 404; a refusal is an error.
  await refused(nobody.client.ping(), 403)
  await refused(connect().ping(), 401)
  const error = await refused(nobody.client.info(), 403, 'security_exception')
  assert.match(error.body.error.reason, /^action \[cluster:monitor\/main\] is unauthorized for user \[nobody-/)
})

test('cluster.health', async () => {
  const health = await elastic.cluster.health({ wait_for_status: 'green', timeout: '5s' })
  assert.equal(health.status, 'green')
  assert.equal(health.timed_out, false)
  assert.equal(health.number_of_nodes, 1)
  assert.equal(health.cluster_name, 'keydesk')
  assert.equal(health.active_shards_percent_as_number, 100)
  assert.deepEqual((await monitor.client.cluster.health({ level: 'indices' })).indices, {})
  assert.equal((await elastic.cluster.health({ index: 'no-such-index' })).status, 'red')
  const waited = await refused(elastic.cluster.health({ index: 'no-such-index', wait_for_status: 'yellow', timeout: '1s' }), 408)
  assert.equal(waited.body.timed_out, true)
  await refused(nobody.client.cluster.health(), 403, 'security_exception')
})

test('security.getUserPrivileges', async () => {
  assert.deepEqual(await elastic.security.getUserPrivileges(), {
    cluster: ['all'], global: [],
    indices: [{ names: ['*'], privileges: ['all'], allow_restricted_indices: true }],
    applications: [{ application: '*', privileges: ['*'], resources: ['*'] }], run_as: ['*']
  })
  assert.deepEqual((await monitor.client.security.getUserPrivileges()).cluster, ['monitor'])
  assert.deepEqual(await nobody.client.security.getUserPrivileges(),
    { cluster: [], global: [], indices: [], applications: [], run_as: [] })
  const scoped = await elastic.security.createApiKey({ name: 'js-scoped', role_descriptors: { m: { cluster: ['monitor'] } } })
  const error = await refused(connect({ apiKey: scoped.encoded }).security.getUserPrivileges(), 400)
  assert.match(error.body.error.reason, /^Cannot retrieve privileges for API keys with assigned role descriptors\./)
})

test('security.clearApiKeyCache', async () => {
  const key = await elastic.security.createApiKey({ name: 'js-cached' })
  const keyClient = connect({ apiKey: key.encoded })
  assert.equal((await keyClient.security.authenticate()).api_key.id, key.id)
  const cleared = await elastic.security.clearApiKeyCache({ ids: key.id })
  assert.deepEqual(cleared._nodes, { total: 1, successful: 1, failed: 0 })
  assert.equal(cleared.cluster_name, 'keydesk')
  assert.equal(Object.keys(cleared.nodes).length, 1)
  assert.equal((await elastic.security.clearApiKeyCache({ ids: ['*'] }))._nodes.failed, 0)
  assert.equal((await keyClient.security.authenticate()).api_key.id, key.id) // the key still works
  const error = await refused(monitor.client.security.clearApiKeyCache({ ids: '*' }), 403, 'security_exception')
  assert.match(error.body.error.reason, /action \[cluster:admin\/xpack\/security\/cache\/clear\]/)
})
