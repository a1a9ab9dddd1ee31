// Application privileges (put, get, delete, clear the cache) and `_has_privileges` resolving them, for a user
// and for one of their API keys, through the official JavaScript client.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { PASSWORD, connect, elastic, refused, unique } from './keydesk.mjs'

test('put, get and delete application privileges', async () => {
  const app = unique('jsapp')
  assert.deepEqual(await elastic.security.putPrivileges({
    privileges: { [app]: { read: { actions: ['data:read/*', 'action:login'], metadata: { team: 'ops' } }, write: { actions: ['data:write/*'] } } }
  }), { [app]: { read: { created: true }, write: { created: true } } })
  assert.deepEqual(await elastic.security.putPrivileges({ privileges: { [app]: { read: { actions: ['data:read/*'] } } } }),
    { [app]: { read: { created: false } } })
  assert.deepEqual(await elastic.security.getPrivileges({ application: app, name: 'read' }), {
    [app]: { read: { application: app, name: 'read', actions: ['data:read/*'], metadata: {} } }
  })
  assert.deepEqual(Object.keys((await elastic.security.getPrivileges({ application: app }))[app]), ['read', 'write'])
  assert.ok(app in await elastic.security.getPrivileges())
  const missing = await refused(elastic.security.getPrivileges({ application: app, name: 'nope' }), 404)
  assert.deepEqual(missing.body, {})
  const bad = await refused(elastic.security.putPrivileges({ privileges: { [app]: { x: { actions: [] } } } }), 400,
    'action_request_validation_exception')
  assert.match(bad.body.error.reason, /Application privileges must have at least one action/)
  assert.equal((await elastic.security.clearCachedPrivileges({ application: app }))._nodes.failed, 0)
  assert.deepEqual(await elastic.security.deletePrivileges({ application: app, name: 'read,write' }),
    { [app]: { read: { found: true }, write: { found: true } } })
  const gone = await refused(elastic.security.deletePrivileges({ application: app, name: 'read' }), 404)
  assert.deepEqual(gone.body, { [app]: { read: { found: false } } })
})

test('has privileges resolves application privileges for a user and for their API key', async () => {
  const app = unique('jsapp')
  const role = unique('js-app-role')
  const username = unique('js-app-user')
  await elastic.security.putPrivileges({
    privileges: { [app]: { read: { actions: ['data:read/*'] }, write: { actions: ['data:write/*'] } } }
  })
  await elastic.security.putRole({
    name: role,
    cluster: ['manage_own_api_key'],
    applications: [{ application: app, privileges: ['read', 'write'], resources: ['doc/*'] }]
  })
  await elastic.security.putUser({ username, password: PASSWORD, roles: [role] })
  const user = connect({ username, password: PASSWORD })
  const checks = [{ application: app, privileges: ['read', 'write', 'data:read/one'], resources: ['doc/1', 'other'] }]
  const mine = await user.security.hasPrivileges({ application: checks })
  assert.deepEqual(mine.application, {
    [app]: { 'doc/1': { read: true, write: true, 'data:read/one': true }, other: { read: false, write: false, 'data:read/one': false } }
  })
  const created = await user.security.createApiKey({
    name: 'reader',
    role_descriptors: { reader: { applications: [{ application: app, privileges: ['read'], resources: ['*'] }] } }
  })
  const key = connect({ apiKey: created.encoded })
  const keys = await key.security.hasPrivileges({ application: checks })
  assert.deepEqual(keys.application[app]['doc/1'], { read: true, write: false, 'data:read/one': true })
  assert.equal(keys.has_all_requested, false)
  await elastic.security.deleteUser({ username })
  await elastic.security.deleteRole({ name: role })
  await elastic.security.deletePrivileges({ application: app, name: 'read,write' })
})
