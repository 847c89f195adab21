import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';

export type RoleName = 'ADMIN' | 'STANDARD';
export const Role = { ADMIN: 'ADMIN', STANDARD: 'STANDARD' } as const;
registerEnumType(Role, { name: 'Role' });

/** Who is calling: resolved from the API token once per request or WebSocket connection. */
export interface Viewer {
  userId: string;
  organizationId: string;
  role: RoleName;
  email: string;
}

/** A viewer as resolved from one API token: the token's id lets a revocation find what it must drop or close. */
export interface TokenViewer extends Viewer {
  tokenId: string;
}

@ObjectType()
export class Organization {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => String) timezone!: string;
}

@ObjectType()
export class User {
  @Field(() => ID) id!: string;
  @Field(() => String) email!: string;
  @Field(() => String, { nullable: true }) name!: string | null;
  @Field(() => Role) role!: RoleName;
}
