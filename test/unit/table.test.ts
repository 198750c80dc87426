import { describe, expect, it } from 'vitest';
import { TABLE, createTableInput, keys, pad } from '../../lib/core/table.js';

describe('table schema', () => {
  it('creates the table with keys, indexes and a NEW_AND_OLD_IMAGES stream from one definition', () => {
    const input = createTableInput('x');
    expect(input.KeySchema).toEqual([
      { AttributeName: 'PK', KeyType: 'HASH' },
      { AttributeName: 'SK', KeyType: 'RANGE' },
    ]);
    expect(input.GlobalSecondaryIndexes.map((i) => i.IndexName)).toEqual(TABLE.indexes.map((i) => i.name));
    expect(input.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(input.AttributeDefinitions.map((a) => a.AttributeName).sort()).toEqual(['GSI1PK', 'GSI1SK', 'GSI2PK', 'GSI2SK', 'GSI3PK', 'GSI3SK', 'GSI4PK', 'GSI4SK', 'PK', 'SK']);
  });

  it('puts the organization in the partition key of every tenant item', () => {
    expect(keys.organization(7).PK).toBe('ORG#0000000007');
    expect(keys.membership(7, 3).PK).toBe('ORG#0000000007');
    expect(keys.membershipPrefix(7).PK).toBe('ORG#0000000007');
  });

  it('orders ids numerically inside sort keys', () => {
    const sks = [2, 10, 1, 100].map((id) => keys.membership(1, id).SK).sort();
    expect(sks).toEqual([1, 2, 10, 100].map((id) => `MEMBER#${pad(id)}`));
  });

  it('keys emails lower-case so that uniqueness is case-insensitive', () => {
    expect(keys.email('Ann@Example.COM')).toEqual(keys.email('ann@example.com'));
  });
});
