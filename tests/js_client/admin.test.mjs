// Roles (put, get, delete, bulk put, bulk delete) and users (put, get, enable, disable, password, delete)
// through the official JavaScript client.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { connect, elastic, refused, unique } from './keydesk.mjs'

test('put, get and delete a role', async () => {
  const name = unique('js-role')
  assert.deepEqual(await elastic.security.putRole({
    name, cluster: ['monitor'], description: 'Watches the cluster',
    indices: [{ names: ['logs-*'], privileges: ['read'] }], metadata: { owner: 'ops' }
  }), { role: { created: true } })
  const role = (await elastic.security.getRole({ name }))[name]
  assert.deepEqual(role.cluster, ['monitor'])
  assert.equal(role.description, 'Watches the cluster')
  assert.deepEqual(role.indices, [{ names: ['logs-*'], privileges: ['read'], allow_restricted_indices: false }])
  assert.deepEqual(role.metadata, { owner: 'ops' })
  assert.deepEqual(await elastic.security.putRole({ name, cluster: ['monitor', 'manage_own_api_key'] }),
    { role: { created: false } })
  assert.deepEqual((await elastic.security.getRole({ name }))[name].cluster, ['monitor', 'manage_own_api_key'])
  const all = await elastic.security.getRole()
  assert.ok(name in all && 'superuser' in all)
  assert.equal(all.superuser.metadata._reserved, true)
  assert.deepEqual(await elastic.security.deleteRole({ name }), { found: true })
  const gone = await refused(elastic.security.deleteRole({ name }), 404)
  assert.deepEqual(gone.body, { found: false })
  const missing = await refused(elastic.security.getRole({ name }), 404)
  assert.deepEqual(missing.body, {})
})

test('bulk put and bulk delete roles', async () => {
  const [a, b, bad] = ['a', 'b', 'bad'].map((tag) => unique(`js-bulk-${tag}`))
  assert.deepEqual(await elastic.security.bulkPutRole({
    roles: { [a]: { cluster: ['monitor'] }, [b]: { cluster: ['monitor'] } }
  }), { created: [a, b] })
  const again = await elastic.security.bulkPutRole({
    roles: {
      [a]: { cluster: ['monitor'] },
      [b]: { cluster: ['read_security'] },
      [bad]: { cluster: ['launch_rockets'] },
      superuser: { cluster: ['monitor'] }
    }
  })
  assert.deepEqual(again.updated, [b])
  assert.deepEqual(again.noop, [a])
  assert.equal(again.errors.count, 2)
  assert.equal(again.errors.details[bad].type, 'action_request_validation_exception')
  assert.match(again.errors.details[bad].reason, /unknown cluster privilege \[launch_rockets\]/)
  assert.deepEqual(again.errors.details.superuser, {
    type: 'illegal_argument_exception', reason: 'Role [superuser] is reserved and may not be used.'
  })
  assert.deepEqual((await elastic.security.getRole({ name: `${a},${b}` }))[b].cluster, ['read_security'])
  const deleted = await elastic.security.bulkDeleteRole({ names: [a, b, bad, 'superuser'] })
  assert.deepEqual(deleted.deleted, [a, b])
  assert.deepEqual(deleted.not_found, [bad])
  assert.deepEqual(deleted.errors, {
    count: 1,
    details: { superuser: { type: 'illegal_argument_exception', reason: 'role [superuser] is reserved and cannot be deleted' } }
  })
  assert.deepEqual(await elastic.security.bulkDeleteRole({ names: [a] }), { not_found: [a] })
})

test('put, get, disable, enable, change the password of and delete a user', async () => {
  const username = unique('js-user')
  assert.deepEqual(await elastic.security.putUser({
    username, password: 'first-pass', roles: ['viewer'], full_name: 'Ann', email: 'ann@example.com',
    metadata: { desk: 4 }
  }), { created: true })
  assert.deepEqual(await elastic.security.putUser({ username, roles: ['viewer', 'api_key_user'] }),
    { created: false })
  assert.deepEqual((await elastic.security.getUser({ username }))[username], {
    username, roles: ['viewer', 'api_key_user'], full_name: 'Ann', email: 'ann@example.com',
    metadata: { desk: 4 }, enabled: true
  })
  assert.ok('elastic' in await elastic.security.getUser())

  const first = connect({ username, password: 'first-pass' })
  assert.deepEqual((await first.security.authenticate()).roles.sort(), ['api_key_user', 'viewer'])
  assert.deepEqual(await first.security.changePassword({ password: 'second-pass' }), {}) // their own
  await refused(first.security.authenticate(), 401, 'security_exception')
  const second = connect({ username, password: 'second-pass' })
  assert.equal((await second.security.authenticate()).username, username)
  assert.deepEqual(await elastic.security.changePassword({ username, password: 'third-pass' }), {})
  const third = connect({ username, password: 'third-pass' })
  assert.equal((await third.security.authenticate()).username, username)

  assert.deepEqual(await elastic.security.disableUser({ username }), {})
  assert.equal((await elastic.security.getUser({ username }))[username].enabled, false)
  await refused(third.security.authenticate(), 401, 'security_exception')
  assert.deepEqual(await elastic.security.enableUser({ username }), {})
  assert.equal((await third.security.authenticate()).username, username)

  assert.deepEqual(await elastic.security.deleteUser({ username }), { found: true })
  assert.deepEqual((await refused(elastic.security.getUser({ username }), 404)).body, {})
  assert.deepEqual((await refused(elastic.security.deleteUser({ username }), 404)).body, { found: false })
})
