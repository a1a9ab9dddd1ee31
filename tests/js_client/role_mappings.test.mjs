// Role mappings (put, get one / several / all, update, delete) and their refusals through the official
// JavaScript client.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { elastic, refused, unique, userWith } from './keydesk.mjs'

const OPS_RULES = {
  all: [
    { field: { 'realm.name': 'proxy' } },
    { any: [{ field: { groups: ['ops', 'sre'] } }, { field: { username: 'ops-*' } }] }
  ]
}

test('put, get, update and delete a role mapping', async () => {
  const name = unique('js-mapping')
  assert.deepEqual(await elastic.security.putRoleMapping({
    name, enabled: true, roles: ['viewer', 'api_key_user'], rules: OPS_RULES, metadata: { ticket: 'OPS-1' }
  }), { role_mapping: { created: true } })
  assert.deepEqual(await elastic.security.getRoleMapping({ name }), {
    [name]: { enabled: true, roles: ['viewer', 'api_key_user'], rules: OPS_RULES, metadata: { ticket: 'OPS-1' } }
  })

  assert.deepEqual(await elastic.security.putRoleMapping({
    name, enabled: false, roles: ['viewer'], rules: { field: { username: 'alice' } }
  }), { role_mapping: { created: false } })
  assert.deepEqual((await elastic.security.getRoleMapping({ name }))[name], {
    enabled: false, roles: ['viewer'], rules: { field: { username: 'alice' } }, metadata: {}
  })

  assert.deepEqual(await elastic.security.deleteRoleMapping({ name }), { found: true })
  const gone = await refused(elastic.security.deleteRoleMapping({ name }), 404)
  assert.deepEqual(gone.body, { found: false })
  const missing = await refused(elastic.security.getRoleMapping({ name }), 404)
  assert.deepEqual(missing.body, {})
})

test('role templates, and getting several mappings or all of them', async () => {
  const [fixed, templated] = ['fixed', 'templated'].map((tag) => unique(`js-mapping-${tag}`))
  await elastic.security.putRoleMapping({ name: fixed, enabled: true, roles: ['viewer'], rules: OPS_RULES })
  assert.deepEqual(await elastic.security.putRoleMapping({
    name: templated,
    enabled: true,
    role_templates: [
      { template: { source: '{{username}}-reader' }, format: 'string' },
      { template: { source: '{{#tojson}}groups{{/tojson}}' }, format: 'json' }
    ],
    rules: { field: { 'realm.name': 'proxy' } }
  }), { role_mapping: { created: true } })

  const both = await elastic.security.getRoleMapping({ name: [fixed, templated] })
  assert.deepEqual(Object.keys(both).sort(), [fixed, templated].sort())
  assert.equal(both[templated].roles, undefined)
  assert.deepEqual(both[templated].role_templates, [
    { template: { source: '{{username}}-reader' }, format: 'string' },
    { template: { source: '{{#tojson}}groups{{/tojson}}' }, format: 'json' }
  ])
  // A comma-separated list names them too; a missing name among found ones is left out.
  const listed = await elastic.security.getRoleMapping({ name: `${fixed},js-mapping-nowhere` })
  assert.deepEqual(Object.keys(listed), [fixed])

  const all = await elastic.security.getRoleMapping()
  assert.ok(fixed in all && templated in all, JSON.stringify(Object.keys(all)))
  assert.deepEqual(all[fixed].rules, OPS_RULES)

  for (const name of [fixed, templated]) {
    assert.deepEqual(await elastic.security.deleteRoleMapping({ name }), { found: true })
  }
})

test('a bad role mapping is a 400 in Elasticsearch error JSON', async () => {
  const name = unique('js-mapping-bad')
  const rule = await refused(elastic.security.putRoleMapping({
    name, enabled: true, roles: ['viewer'], rules: { every: [{ field: { username: '*' } }] }
  }), 400, 'parsing_exception')
  assert.equal(rule.body.error.reason, '[role-mapping] failed to parse field [rules]')
  assert.equal(rule.body.error.caused_by.caused_by.type, 'parse_exception')
  assert.match(rule.body.error.caused_by.caused_by.reason, /unknown rule \[every\]/)

  const noRoles = await refused(elastic.security.putRoleMapping({
    name, enabled: true, rules: { field: { username: '*' } }
  }), 400, 'action_request_validation_exception')
  assert.equal(noRoles.body.error.reason, 'Validation Failed: 1: role-mapping roles or role-templates are missing;')

  const both = await refused(elastic.security.putRoleMapping({
    name,
    enabled: true,
    roles: ['viewer'],
    role_templates: [{ template: { source: '{{username}}' } }],
    rules: { field: { username: '*' } }
  }), 400, 'action_request_validation_exception')
  assert.match(both.body.error.reason, /role-mapping cannot have both roles and role-templates/)

  await refused(elastic.security.getRoleMapping({ name }), 404)
})

test('role mappings need manage_security to change and read_security to read', async () => {
  const name = unique('js-mapping-guarded')
  await elastic.security.putRoleMapping({ name, enabled: true, roles: ['viewer'], rules: OPS_RULES })
  const { client: viewer } = await userWith(['security_viewer'], 'js-mapping-viewer')
  assert.deepEqual(Object.keys(await viewer.security.getRoleMapping({ name })), [name])
  const put = await refused(viewer.security.putRoleMapping({
    name, enabled: true, roles: ['superuser'], rules: OPS_RULES
  }), 403, 'security_exception')
  assert.match(put.body.error.reason, /^action \[cluster:admin\/xpack\/security\/role_mapping\/put\] is unauthorized/)
  await refused(viewer.security.deleteRoleMapping({ name }), 403, 'security_exception')
  assert.deepEqual((await elastic.security.getRoleMapping({ name }))[name].roles, ['viewer'])
  assert.deepEqual(await elastic.security.deleteRoleMapping({ name }), { found: true })
})
