// API keys through the official JavaScript client: create, get, update, bulk update, authenticate with the
// key, has_privileges, invalidate.
import assert from 'node:assert/strict'
import { before, test } from 'node:test'

import { connect, elastic, refused, userWith } from './keydesk.mjs'

let owner
before(async () => { owner = await userWith(['api_key_user'], 'owner') })

test('authenticate with Basic credentials and with a new key, encoded or as id and secret', async () => {
  const me = await elastic.security.authenticate()
  assert.equal(me.username, 'elastic')
  assert.equal(me.authentication_type, 'realm')
  assert.deepEqual(me.authentication_realm, { name: 'reserved', type: 'reserved' })
  const key = await elastic.security.createApiKey({ name: 'js-who-am-i' })
  const byKey = await connect({ apiKey: key.encoded }).security.authenticate()
  assert.equal(byKey.username, 'elastic')
  assert.equal(byKey.authentication_type, 'api_key')
  assert.deepEqual(byKey.api_key, { id: key.id, name: 'js-who-am-i', managed_by: 'elasticsearch' })
  assert.deepEqual(byKey.authentication_realm, { name: '_es_api_key', type: '_es_api_key' })
  const byPair = await connect({ apiKey: { id: key.id, api_key: key.api_key } }).security.authenticate()
  assert.equal(byPair.api_key.id, key.id)
})

test('create, get, update, bulk update and invalidate a key', async () => {
  const client = owner.client
  const created = await client.security.createApiKey({
    name: 'js-deploy', expiration: '7d', metadata: { env: 'ci' },
    role_descriptors: { deploy: { cluster: ['monitor'] } }
  })
  assert.deepEqual(Object.keys(created).sort(), ['api_key', 'encoded', 'expiration', 'id', 'name'])
  assert.equal(created.encoded, Buffer.from(`${created.id}:${created.api_key}`).toString('base64'))
  assert.ok(created.expiration > Date.now() + 6 * 86400e3 && created.expiration < Date.now() + 8 * 86400e3)

  const [found] = (await client.security.getApiKey({ id: created.id, owner: true })).api_keys
  assert.equal(found.username, owner.username)
  assert.equal(found.name, 'js-deploy')
  assert.equal(found.invalidated, false)
  assert.deepEqual(found.metadata, { env: 'ci' })
  assert.deepEqual(found.role_descriptors.deploy.cluster, ['monitor'])
  const byName = await client.security.getApiKey({ name: 'js-dep*', owner: true })
  assert.deepEqual(byName.api_keys.map((k) => k.id), [created.id])

  assert.deepEqual(await client.security.updateApiKey({ id: created.id, metadata: { env: 'prod' } }),
    { updated: true })
  assert.deepEqual(await client.security.updateApiKey({ id: created.id, metadata: { env: 'prod' } }),
    { updated: false })
  const [updated] = (await client.security.getApiKey({ id: created.id, owner: true })).api_keys
  assert.deepEqual(updated.metadata, { env: 'prod' })

  const other = await client.security.createApiKey({ name: 'js-other' })
  const bulk = await client.security.bulkUpdateApiKeys({ ids: [created.id, other.id], metadata: { env: 'prod' } })
  assert.deepEqual(bulk, { updated: [other.id], noops: [created.id] })

  const keyClient = connect({ apiKey: created.encoded })
  assert.equal((await keyClient.security.authenticate()).api_key.id, created.id)

  const invalidated = await client.security.invalidateApiKey({ ids: [created.id], owner: true })
  assert.deepEqual(invalidated.invalidated_api_keys, [created.id])
  assert.deepEqual(invalidated.previously_invalidated_api_keys, [])
  assert.equal(invalidated.error_count, 0)
  const error = await refused(keyClient.security.authenticate(), 401, 'security_exception')
  assert.equal(error.body.error.additional_unsuccessful_credentials,
    `API key: api key [${created.id}] has been invalidated`)
  const again = await client.security.invalidateApiKey({ ids: [created.id], owner: true })
  assert.deepEqual(again.invalidated_api_keys, [])
  assert.deepEqual(again.previously_invalidated_api_keys, [created.id])
  assert.equal((await client.security.getApiKey({ id: created.id, owner: true })).api_keys[0].invalidated, true)
})

test('invalidate by name, and by the owner\'s username as an administrator', async () => {
  const a = await owner.client.security.createApiKey({ name: 'js-by-name' })
  const byName = await owner.client.security.invalidateApiKey({ name: 'js-by-name', owner: true })
  assert.deepEqual(byName.invalidated_api_keys, [a.id])
  const b = await owner.client.security.createApiKey({ name: 'js-by-user' })
  const byUser = await elastic.security.invalidateApiKey({ username: owner.username })
  assert.ok(byUser.invalidated_api_keys.includes(b.id))
})

test('has_privileges of a key limited to one index pattern', async () => {
  const key = await elastic.security.createApiKey({
    name: 'js-logs-only',
    role_descriptors: { logs: { indices: [{ names: ['logs-*'], privileges: ['read', 'view_index_metadata'] }] } }
  })
  const client = connect({ apiKey: key.encoded })
  const answer = await client.security.hasPrivileges({
    cluster: ['monitor', 'manage_own_api_key'],
    index: [{ names: ['logs-app', 'metrics-app'], privileges: ['read', 'write'] }]
  })
  assert.equal(answer.username, 'elastic')
  assert.equal(answer.has_all_requested, false)
  assert.deepEqual(answer.cluster, { monitor: false, manage_own_api_key: false })
  assert.deepEqual(answer.index, {
    'logs-app': { read: true, write: false },
    'metrics-app': { read: false, write: false }
  })
  assert.deepEqual(answer.application, {})
  const narrow = await client.security.hasPrivileges({ index: [{ names: ['logs-2024.01'], privileges: ['read'] }] })
  assert.equal(narrow.has_all_requested, true)
  const superuser = await elastic.security.hasPrivileges({
    cluster: ['all'], index: [{ names: ['*'], privileges: ['all'] }]
  })
  assert.equal(superuser.has_all_requested, true)
})

test('responses carry Elasticsearch\'s product header and the compatible media type', async () => {
  const response = await elastic.security.authenticate({}, { meta: true })
  assert.equal(response.statusCode, 200)
  assert.equal(response.headers['x-elastic-product'], 'Elasticsearch')
  assert.match(response.headers['content-type'], /^application\/vnd\.elasticsearch\+json; ?compatible-with=9$/)
})
