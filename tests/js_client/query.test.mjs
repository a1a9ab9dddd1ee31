// The Query API through the official JavaScript client: a bool query with sort and aggregations, from/size
// and search_after paging, typed_keys.
import assert from 'node:assert/strict'
import { before, test } from 'node:test'

import { elastic, userWith } from './keydesk.mjs'

const TEAMS = ['red', 'green', 'blue']
let fleet

before(async () => {
  // 9 keys of one user: agent-00..08, teams red, green, blue in turn, 0, 4 and 8 expiring; agent-03 invalidated.
  fleet = await userWith(['api_key_user'], 'fleet')
  fleet.ids = []
  for (let number = 0; number < 9; number++) {
    const created = await fleet.client.security.createApiKey({
      name: `agent-${String(number).padStart(2, '0')}`,
      expiration: number % 4 === 0 ? '30d' : undefined,
      metadata: { team: TEAMS[number % 3], rank: number }
    })
    fleet.ids.push(created.id)
  }
  await fleet.client.security.invalidateApiKey({ ids: [fleet.ids[3]], owner: true })
  await elastic.security.createApiKey({ name: 'agent-99' }) // someone else's
})

test('a user queries only their own keys', async () => {
  const everything = await fleet.client.security.queryApiKeys({ size: 100 })
  assert.equal(everything.total, 9)
  assert.equal(everything.count, 9)
  assert.deepEqual(new Set(everything.api_keys.map((k) => k.username)), new Set([fleet.username]))
  const theirs = await elastic.security.queryApiKeys({ query: { term: { username: fleet.username } } })
  assert.equal(theirs.total, 9)
})

test('a bool query, sorted, with aggregations', async () => {
  const result = await fleet.client.security.queryApiKeys({
    query: {
      bool: {
        filter: [{ term: { invalidated: false } }],
        must: [{ prefix: { name: 'agent-0' } }],
        must_not: [{ term: { 'metadata.team': 'blue' } }],
        should: [{ exists: { field: 'expiration' } }, { range: { 'metadata.rank': { gte: 6 } } }],
        minimum_should_match: 1
      }
    },
    sort: [{ name: { order: 'desc' } }],
    size: 3,
    aggs: {
      teams: { terms: { field: 'metadata.team' }, aggs: { expiring: { value_count: { field: 'expiration' } } } },
      never_expire: { missing: { field: 'expiration' } },
      names: { cardinality: { field: 'name' } }
    }
  })
  // Not blue, not invalidated: 00, 01, 04, 06, 07; expiring or ranked 6 and up: 00, 04, 06, 07.
  assert.equal(result.total, 4)
  assert.equal(result.count, 3)
  assert.deepEqual(result.api_keys.map((k) => k.name), ['agent-07', 'agent-06', 'agent-04'])
  assert.deepEqual(result.api_keys[0]._sort, ['agent-07'])
  assert.deepEqual(result.aggregations.teams.buckets, [ // equal counts: by key
    { key: 'green', doc_count: 2, expiring: { value: 1 } },
    { key: 'red', doc_count: 2, expiring: { value: 1 } }
  ])
  assert.deepEqual(result.aggregations.never_expire, { doc_count: 2 })
  assert.deepEqual(result.aggregations.names, { value: 4 })
})

test('from/size and search_after paging', async () => {
  const second = await fleet.client.security.queryApiKeys({ sort: [{ name: 'asc' }], from: 3, size: 3 })
  assert.deepEqual(second.api_keys.map((k) => k.name), ['agent-03', 'agent-04', 'agent-05'])
  const names = []
  let after
  for (let page = 0; page < 10; page++) {
    const answer = await fleet.client.security.queryApiKeys({ sort: ['creation', 'name'], size: 4, search_after: after })
    if (answer.api_keys.length === 0) break
    names.push(...answer.api_keys.map((k) => k.name))
    after = answer.api_keys.at(-1)._sort
  }
  assert.deepEqual(names, Array.from({ length: 9 }, (_, n) => `agent-0${n}`))
})

test('typed_keys prefixes aggregation names with their type', async () => {
  const typed = await fleet.client.security.queryApiKeys({
    size: 0, typed_keys: true, aggs: { t: { terms: { field: 'type' } } }
  })
  assert.deepEqual(typed.api_keys, [])
  assert.deepEqual(typed.aggregations['sterms#t'].buckets, [{ key: 'rest', doc_count: 9 }])
})
