import { GraphQLDateTimeISO } from 'graphql-scalars';
import { Field, ID, ObjectType } from 'type-graphql';
import { connectionType } from '../../graphql/connection.ts';

@ObjectType()
export class ActivityEvent {
  @Field(() => ID) id!: number;
  @Field(() => String, { description: 'e.g. backup.completed, backup.downloaded, retention.sweep' }) kind!: string;
  @Field(() => String) summary!: string;
  @Field(() => String, { nullable: true }) subjectType!: string | null;
  @Field(() => ID, { nullable: true }) subjectId!: string | null;
  @Field(() => GraphQLDateTimeISO) createdAt!: Date;
}

export const ActivityEventConnection = connectionType(ActivityEvent, 'ActivityEventConnection');
