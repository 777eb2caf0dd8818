output "cluster_name" {
  value = aws_ecs_cluster.this.name
}

# Every service the deploy updates, in the order it updates them.
output "service_names" {
  value = concat([aws_ecs_service.origin.name, aws_ecs_service.origin_jobs.name, aws_ecs_service.storefront.name], [for service in aws_ecs_service.background : service.name])
}

output "migrate_task_definition" {
  value = aws_ecs_task_definition.migrate.family
}

output "task_security_group_id" {
  value = aws_security_group.tasks.id
}

output "private_subnet_ids" {
  value = var.private_subnet_ids
}

output "load_balancer_dns_name" {
  value = aws_lb.this.dns_name
}

output "role_arns" {
  value = [aws_iam_role.execution.arn, aws_iam_role.task.arn]
}
