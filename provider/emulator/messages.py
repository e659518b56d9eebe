"""The raw protobuf classes and enums of Dataproc v1, taken from the google-cloud-dataproc client (no protoc)."""

from __future__ import annotations

from google.cloud import dataproc_v1 as _d

__all__ = [
    "BatchState", "ClusterOpState", "ClusterState", "JobState", "JobStatusSubstate", "NodeState", "WorkflowState",
    "pb",
]


class pb:  # noqa: N801 - a namespace of message classes, named like the proto package
    """Raw protobuf message classes (``.pb()`` of the proto-plus types) used on the wire."""

    Cluster = _d.Cluster.pb()
    ClusterStatus = _d.ClusterStatus.pb()
    ClusterOperationMetadata = _d.ClusterOperationMetadata.pb()
    ClusterOperationStatus = _d.ClusterOperationStatus.pb()
    CreateClusterRequest = _d.CreateClusterRequest.pb()
    UpdateClusterRequest = _d.UpdateClusterRequest.pb()
    DeleteClusterRequest = _d.DeleteClusterRequest.pb()
    GetClusterRequest = _d.GetClusterRequest.pb()
    ListClustersRequest = _d.ListClustersRequest.pb()
    ListClustersResponse = _d.ListClustersResponse.pb()
    StartClusterRequest = _d.StartClusterRequest.pb()
    StopClusterRequest = _d.StopClusterRequest.pb()
    DiagnoseClusterRequest = _d.DiagnoseClusterRequest.pb()
    DiagnoseClusterResults = _d.DiagnoseClusterResults.pb()

    Job = _d.Job.pb()
    JobStatus = _d.JobStatus.pb()
    JobMetadata = _d.JobMetadata.pb()
    SubmitJobRequest = _d.SubmitJobRequest.pb()
    GetJobRequest = _d.GetJobRequest.pb()
    ListJobsRequest = _d.ListJobsRequest.pb()
    ListJobsResponse = _d.ListJobsResponse.pb()
    UpdateJobRequest = _d.UpdateJobRequest.pb()
    CancelJobRequest = _d.CancelJobRequest.pb()
    DeleteJobRequest = _d.DeleteJobRequest.pb()

    WorkflowTemplate = _d.WorkflowTemplate.pb()
    WorkflowMetadata = _d.WorkflowMetadata.pb()
    WorkflowNode = _d.WorkflowNode.pb()
    CreateWorkflowTemplateRequest = _d.CreateWorkflowTemplateRequest.pb()
    GetWorkflowTemplateRequest = _d.GetWorkflowTemplateRequest.pb()
    ListWorkflowTemplatesRequest = _d.ListWorkflowTemplatesRequest.pb()
    ListWorkflowTemplatesResponse = _d.ListWorkflowTemplatesResponse.pb()
    DeleteWorkflowTemplateRequest = _d.DeleteWorkflowTemplateRequest.pb()
    UpdateWorkflowTemplateRequest = _d.UpdateWorkflowTemplateRequest.pb()
    InstantiateWorkflowTemplateRequest = _d.InstantiateWorkflowTemplateRequest.pb()
    InstantiateInlineWorkflowTemplateRequest = _d.InstantiateInlineWorkflowTemplateRequest.pb()

    Batch = _d.Batch.pb()
    BatchOperationMetadata = _d.BatchOperationMetadata.pb()
    CreateBatchRequest = _d.CreateBatchRequest.pb()
    GetBatchRequest = _d.GetBatchRequest.pb()
    ListBatchesRequest = _d.ListBatchesRequest.pb()
    ListBatchesResponse = _d.ListBatchesResponse.pb()
    DeleteBatchRequest = _d.DeleteBatchRequest.pb()


ClusterState = _d.ClusterStatus.State
ClusterOpState = _d.ClusterOperationStatus.State
JobState = _d.JobStatus.State
JobStatusSubstate = _d.JobStatus.Substate
BatchState = _d.Batch.State
WorkflowState = _d.WorkflowMetadata.State
NodeState = _d.WorkflowNode.NodeState
